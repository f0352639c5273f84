-- Q11: rows whose fields contradict their status, and records processed twice.
SELECT
    (SELECT count(*) FROM processing_queue
      WHERE status = 'processing' AND (claimed_at IS NULL OR flow_instance_id IS NULL)) AS processing_unclaimed,
    (SELECT count(*) FROM processing_queue
      WHERE status = 'completed' AND completed_at IS NULL) AS completed_without_completed_at,
    (SELECT count(*) FROM processing_queue
      WHERE status = 'completed' AND completed_at < claimed_at) AS completed_before_claimed,
    (SELECT count(*) FROM processing_queue
      WHERE status = 'failed' AND error_message IS NULL) AS failed_without_error,
    (SELECT count(*) FROM processing_queue WHERE retry_count < 0) AS negative_retry_count,
    (SELECT count(*) FROM processing_queue WHERE updated_at < created_at) AS updated_before_created,
    (SELECT count(*) FROM (
        SELECT queue_id FROM processed_surveys GROUP BY queue_id HAVING count(*) > 1) AS twice
    ) AS processed_twice
