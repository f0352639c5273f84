-- Q2/Q11: the runbook's "suspicious patterns": records held in processing per worker.
SELECT
    flow_instance_id,
    count(*) AS records_claimed,
    min(claimed_at) AS first_claim,
    max(claimed_at) AS last_claim
FROM processing_queue
WHERE status = 'processing'
GROUP BY flow_instance_id
ORDER BY records_claimed DESC
