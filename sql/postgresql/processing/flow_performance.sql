-- Q3: the runbook's performance by flow over the window.
SELECT
    flow_name,
    count(*) AS total_processed,
    count(CASE WHEN status = 'completed' THEN 1 END) AS completed,
    round((count(CASE WHEN status = 'completed' THEN 1 END) * 100.0 / count(*)), 2) AS success_rate,
    round(avg(extract(epoch FROM (completed_at - claimed_at)) / 60)::numeric, 2) AS avg_processing_minutes
FROM processing_queue
WHERE claimed_at >= now() - :window_hours * interval '1 hour'
GROUP BY flow_name
ORDER BY total_processed DESC
