-- D1 target: errored copies with no earlier unfinished copy of the same type for
-- the same identifier ("prerequisite") and no job already queued.
SELECT c.*
FROM stash_engine_zenodo_copies c
WHERE c.id IN :copy_ids
  AND c.state = 'error'
  AND NOT EXISTS (SELECT 1 FROM stash_engine_zenodo_copies p
                  WHERE p.identifier_id = c.identifier_id AND p.copy_type = c.copy_type
                    AND p.id < c.id AND p.state <> 'finished')
  AND NOT EXISTS (SELECT 1 FROM delayed_jobs j
                  WHERE j.failed_at IS NULL AND j.queue LIKE 'zenodo%'
                    AND j.handler LIKE CONCAT('%arguments:\n  - ', c.id, '\n%'))
ORDER BY c.id
