-- D4 report: jobs cut off by SIGTERM or max_run_time ("execution expired"), not running now.
SELECT id, queue, priority, attempts, failed_at, run_at,
       SUBSTRING_INDEX(last_error, '\n', 1) AS error,
       CAST(REGEXP_SUBSTR(handler, '(?<=arguments:\n  - )[0-9]+') AS UNSIGNED) AS argument
FROM delayed_jobs
WHERE (last_error LIKE 'SIGTERM%' OR last_error LIKE '%execution expired%')
  AND locked_at IS NULL
ORDER BY id
LIMIT 100
