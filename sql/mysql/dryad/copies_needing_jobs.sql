-- D1/D6: enqueued copies with no job queued for them (given ids, or all of them).
SELECT c.*
FROM stash_engine_zenodo_copies c
WHERE c.state = 'enqueued'
  AND (c.id IN :copy_ids OR :all_copies = 1)
  AND NOT EXISTS (SELECT 1 FROM delayed_jobs j
                  WHERE j.failed_at IS NULL AND j.queue LIKE 'zenodo%'
                    AND j.handler LIKE CONCAT('%arguments:\n  - ', c.id, '\n%'))
ORDER BY c.id
