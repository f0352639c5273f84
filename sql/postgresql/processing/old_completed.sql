-- Q6 target: completed more than :completed_days days ago. Batched by id.
SELECT *
FROM processing_queue
WHERE status = 'completed'
  AND completed_at < now() - :completed_days * interval '1 day'
  AND (:after_key IS NULL OR id > :after_key)
ORDER BY id LIMIT :batch_size
