-- Q4 target: orphaned records whose attempt was their last: to failed.
SELECT *
FROM processing_queue
WHERE status = 'processing'
  AND claimed_at < now() - :orphaned_timeout_hours * interval '1 hour'
  AND retry_count + 1 >= :max_retries
  AND (:after_key IS NULL OR id > :after_key)
ORDER BY id LIMIT :batch_size
