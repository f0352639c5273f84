-- D6 target: current rejected_shutting_down states stamped with another host's name.
SELECT e.*
FROM stash_engine_repo_queue_states e
WHERE e.state = 'rejected_shutting_down'
  AND e.hostname <> :hostname
  AND NOT EXISTS (SELECT 1 FROM stash_engine_repo_queue_states n
                  WHERE n.resource_id = e.resource_id AND n.id > e.id)
ORDER BY e.id
