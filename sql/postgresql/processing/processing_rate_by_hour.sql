-- Q3: the runbook's processing rate by hour.
SELECT
    date_trunc('hour', claimed_at) AS hour,
    count(*) AS records_processed,
    count(CASE WHEN status = 'completed' THEN 1 END) AS completed,
    round(avg(extract(epoch FROM (completed_at - claimed_at)) / 60)::numeric, 2) AS avg_minutes
FROM processing_queue
WHERE claimed_at >= now() - :window_hours * interval '1 hour'
GROUP BY date_trunc('hour', claimed_at)
ORDER BY hour DESC
