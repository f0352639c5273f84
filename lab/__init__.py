"""The remedies lab: isolated hosts, databases and queues on one machine."""
