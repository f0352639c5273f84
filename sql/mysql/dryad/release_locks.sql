-- D4 change: release the locks now instead of waiting for max_run_time.
UPDATE delayed_jobs
SET locked_at = NULL, locked_by = NULL, updated_at = NOW()
WHERE id IN :keys
