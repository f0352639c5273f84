-- D4 target: jobs cut off by SIGTERM or by max_run_time ("execution expired"), not running now.
SELECT *
FROM delayed_jobs
WHERE (last_error LIKE 'SIGTERM%' OR last_error LIKE '%execution expired%')
  AND locked_at IS NULL
ORDER BY id
