-- D6 report: submissions whose current state is rejected_shutting_down, by host.
SELECT e.hostname, COUNT(*) AS submissions
FROM stash_engine_repo_queue_states e
WHERE e.state = 'rejected_shutting_down'
  AND NOT EXISTS (SELECT 1 FROM stash_engine_repo_queue_states n
                  WHERE n.resource_id = e.resource_id AND n.id > e.id)
GROUP BY e.hostname
ORDER BY e.hostname
