-- Q3: the runbook's top error messages over the window.
SELECT
    error_message,
    count(*) AS error_count,
    count(DISTINCT flow_name) AS affected_flows
FROM processing_queue
WHERE status = 'failed'
  AND updated_at >= now() - :window_hours * interval '1 hour'
  AND error_message IS NOT NULL
GROUP BY error_message
ORDER BY error_count DESC
LIMIT :top_errors
