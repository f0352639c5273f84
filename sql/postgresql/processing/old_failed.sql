-- Q6 target: failed more than :failed_days days ago with retry_count >= :failed_min_retries.
SELECT *
FROM processing_queue
WHERE status = 'failed'
  AND updated_at < now() - :failed_days * interval '1 day'
  AND retry_count >= :failed_min_retries
  AND (:after_key IS NULL OR id > :after_key)
ORDER BY id LIMIT :batch_size
