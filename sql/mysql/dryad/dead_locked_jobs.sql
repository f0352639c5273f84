-- D4 target: jobs locked by workers that no longer run (checked on their host).
SELECT *
FROM delayed_jobs
WHERE locked_by IN :dead_lockers
  AND failed_at IS NULL
ORDER BY id
