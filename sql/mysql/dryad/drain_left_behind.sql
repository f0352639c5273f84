-- D5 report: copies replicating that no live job will finish (a dead worker's lock, or no job at all).
SELECT c.id, c.identifier_id, c.copy_type, c.updated_at,
       (SELECT MIN(j.id) FROM delayed_jobs j
         WHERE j.failed_at IS NULL AND j.queue LIKE 'zenodo%'
           AND j.handler LIKE CONCAT('%arguments:\n  - ', c.id, '\n%')) AS job_id
FROM stash_engine_zenodo_copies c
WHERE c.state = 'replicating'
  AND NOT EXISTS (SELECT 1 FROM delayed_jobs j
                  WHERE j.failed_at IS NULL AND j.queue LIKE 'zenodo%'
                    AND (j.locked_by IS NULL OR j.locked_by NOT IN :dead_lockers)
                    AND j.handler LIKE CONCAT('%arguments:\n  - ', c.id, '\n%'))
ORDER BY c.id
LIMIT 50
