-- D6 change: the resubmitting server takes them over (the runbook's manual edit).
UPDATE stash_engine_repo_queue_states
SET hostname = :hostname, updated_at = NOW()
WHERE id IN :keys
