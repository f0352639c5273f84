-- Q11: the runbook's data-integrity check: each status with its oldest and newest row.
SELECT
    status,
    count(*) AS count,
    min(created_at) AS oldest,
    max(updated_at) AS newest
FROM processing_queue
GROUP BY status
ORDER BY status
