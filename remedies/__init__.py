"""remedies: runbooks as code. The Invoke layer lives here; tasks.py stays thin."""
