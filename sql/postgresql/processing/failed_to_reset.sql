-- Q5 target: failed records with retry_count below the maximum. Batched by id.
SELECT *
FROM processing_queue
WHERE status = 'failed'
  AND retry_count < :max_retries
  AND (:after_key IS NULL OR id > :after_key)
ORDER BY id LIMIT :batch_size
