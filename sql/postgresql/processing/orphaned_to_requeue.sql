-- Q4 target: orphaned (processing, claimed more than :orphaned_timeout_hours ago)
-- and with retries left after this attempt: back to pending. Batched by id.
SELECT *
FROM processing_queue
WHERE status = 'processing'
  AND claimed_at < now() - :orphaned_timeout_hours * interval '1 hour'
  AND retry_count + 1 < :max_retries
  AND (:after_key IS NULL OR id > :after_key)
ORDER BY id LIMIT :batch_size
