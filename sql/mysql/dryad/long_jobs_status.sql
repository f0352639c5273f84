-- D5/D6 report: the `long_jobs.dryad status` counts, plus what a drain leaves behind.
-- A submission's current state is its row with the highest id.
SELECT
  (SELECT COUNT(*) FROM stash_engine_repo_queue_states e
    WHERE e.state = 'enqueued'
      AND NOT EXISTS (SELECT 1 FROM stash_engine_repo_queue_states n
                      WHERE n.resource_id = e.resource_id AND n.id > e.id)) AS submissions_enqueued,
  (SELECT COUNT(*) FROM stash_engine_repo_queue_states e
    WHERE e.state = 'processing' AND e.updated_at > NOW() - INTERVAL 7 DAY
      AND NOT EXISTS (SELECT 1 FROM stash_engine_repo_queue_states n
                      WHERE n.resource_id = e.resource_id AND n.id > e.id)) AS submissions_processing,
  (SELECT COUNT(*) FROM stash_engine_zenodo_copies WHERE state = 'enqueued') AS zenodo_enqueued,
  (SELECT COUNT(*) FROM stash_engine_zenodo_copies
    WHERE state = 'replicating' AND updated_at > NOW() - INTERVAL 7 DAY) AS zenodo_replicating,
  (SELECT COUNT(*) FROM stash_engine_zenodo_copies WHERE state = 'deferred') AS zenodo_deferred,
  (SELECT COUNT(*) FROM stash_engine_repo_queue_states e
    WHERE e.state = 'rejected_shutting_down'
      AND NOT EXISTS (SELECT 1 FROM stash_engine_repo_queue_states n
                      WHERE n.resource_id = e.resource_id AND n.id > e.id)) AS submissions_rejected_shutting_down,
  (SELECT COUNT(*) FROM delayed_jobs WHERE failed_at IS NULL) AS jobs_queued,
  (SELECT COUNT(*) FROM delayed_jobs WHERE failed_at IS NULL AND locked_at IS NOT NULL) AS jobs_locked
