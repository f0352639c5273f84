-- D4 report: jobs locked (running) for longer than the threshold, oldest first.
SELECT id, queue, priority, attempts, locked_by, locked_at,
       TIMESTAMPDIFF(SECOND, locked_at, NOW()) AS running_seconds,
       CAST(REGEXP_SUBSTR(handler, '(?<=arguments:\n  - )[0-9]+') AS UNSIGNED) AS argument
FROM delayed_jobs
WHERE locked_at IS NOT NULL
  AND failed_at IS NULL
  AND locked_at < NOW() - INTERVAL :seconds SECOND
ORDER BY locked_at
LIMIT 100
