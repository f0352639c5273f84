-- D5: what still runs. Locks of workers known to be dead, and copies whose only
-- job such a worker holds, do not count: they will not finish (D4 releases them).
SELECT
  (SELECT COUNT(*) FROM delayed_jobs
    WHERE failed_at IS NULL AND locked_at >= NOW() - INTERVAL :max_run_time SECOND
      AND locked_by NOT IN :dead_lockers) AS jobs_running,
  (SELECT COUNT(*) FROM stash_engine_zenodo_copies c
    WHERE c.state = 'replicating'
      AND EXISTS (SELECT 1 FROM delayed_jobs j
                  WHERE j.failed_at IS NULL AND j.queue LIKE 'zenodo%'
                    AND (j.locked_by IS NULL OR j.locked_by NOT IN :dead_lockers)
                    AND j.handler LIKE CONCAT('%arguments:\n  - ', c.id, '\n%'))) AS copies_replicating,
  (SELECT COUNT(*) FROM stash_engine_repo_queue_states e
    WHERE e.state = 'processing' AND e.updated_at > NOW() - INTERVAL 7 DAY
      AND NOT EXISTS (SELECT 1 FROM stash_engine_repo_queue_states n
                      WHERE n.resource_id = e.resource_id AND n.id > e.id)) AS submissions_processing
