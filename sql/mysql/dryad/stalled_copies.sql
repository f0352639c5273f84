-- D2 target: copies shown running that nothing will run: not finished, and no job
-- queued for them. Deferred copies wait for resume-jobs (D6) and are left alone.
SELECT c.*
FROM stash_engine_zenodo_copies c
WHERE c.state IN ('enqueued', 'replicating')
  AND NOT EXISTS (SELECT 1 FROM delayed_jobs j
                  WHERE j.failed_at IS NULL AND j.queue LIKE 'zenodo%'
                    AND j.handler LIKE CONCAT('%arguments:\n  - ', c.id, '\n%'))
ORDER BY c.id
