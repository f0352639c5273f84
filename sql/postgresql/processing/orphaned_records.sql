-- Q2: orphaned records (processing, claimed longer ago than the timeout), per worker.
SELECT
    flow_instance_id,
    flow_name,
    count(*) AS orphaned_records,
    min(claimed_at) AS first_claim,
    max(claimed_at) AS last_claim,
    round(extract(epoch FROM now() - min(claimed_at)) / 3600, 1) AS oldest_hours,
    max(retry_count) AS max_retry_count
FROM processing_queue
WHERE status = 'processing'
  AND claimed_at < now() - :orphaned_timeout_hours * interval '1 hour'
GROUP BY flow_instance_id, flow_name
ORDER BY orphaned_records DESC
