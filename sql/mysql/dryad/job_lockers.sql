-- D4/D5: who holds delayed_jobs locks ("host:<name> pid:<pid>"), to check each worker is alive.
SELECT locked_by, COUNT(*) AS jobs, MIN(locked_at) AS oldest_lock
FROM delayed_jobs
WHERE locked_by IS NOT NULL AND locked_at IS NOT NULL AND failed_at IS NULL
GROUP BY locked_by
ORDER BY locked_by
