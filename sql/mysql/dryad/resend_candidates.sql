-- D1 report: the copies asked for (or every errored one), in resend order, with
-- the reasons the admin page's resend would refuse them.
SELECT c.id, c.identifier_id, c.copy_type, c.state, c.resource_id, c.retries,
       (SELECT MIN(p.id) FROM stash_engine_zenodo_copies p
         WHERE p.identifier_id = c.identifier_id AND p.copy_type = c.copy_type
           AND p.id < c.id AND p.state <> 'finished') AS prerequisite_id,
       (SELECT MIN(j.id) FROM delayed_jobs j
         WHERE j.failed_at IS NULL AND j.queue LIKE 'zenodo%'
           AND j.handler LIKE CONCAT('%arguments:\n  - ', c.id, '\n%')) AS queued_job_id
FROM stash_engine_zenodo_copies c
WHERE c.id IN :copy_ids
   OR (:all_errored = 1 AND c.state = 'error' AND (:identifier_id = 0 OR c.identifier_id = :identifier_id))
ORDER BY c.identifier_id, c.copy_type, c.id
LIMIT 1000
