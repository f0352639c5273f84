-- Q3: over the window: outcomes, success rate, processing rate and time.
SELECT
    count(*) AS claimed,
    count(*) FILTER (WHERE status = 'completed') AS completed,
    count(*) FILTER (WHERE status = 'failed') AS failed,
    round(count(*) FILTER (WHERE status = 'completed') * 100.0
          / nullif(count(*) FILTER (WHERE status IN ('completed', 'failed')), 0), 2) AS success_rate_percent,
    round(count(*) FILTER (WHERE status IN ('completed', 'failed')) / (:window_hours)::numeric, 2)
        AS avg_processing_rate_per_hour,
    round(avg(extract(epoch FROM (completed_at - claimed_at)) / 60)::numeric, 4) AS avg_processing_time_minutes
FROM processing_queue
WHERE claimed_at >= now() - :window_hours * interval '1 hour'
