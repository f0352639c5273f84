-- Q1: queue depth by status, orphaned records, and the last hour's outcomes.
-- Each figure is its own subquery so each can use its own index.
SELECT
    (SELECT count(*) FROM processing_queue) AS total_records,
    (SELECT count(*) FROM processing_queue WHERE status = 'pending') AS pending_records,
    (SELECT count(*) FROM processing_queue WHERE status = 'processing') AS processing_records,
    (SELECT count(*) FROM processing_queue WHERE status = 'completed') AS completed_records,
    (SELECT count(*) FROM processing_queue WHERE status = 'failed') AS failed_records,
    (SELECT count(*) FROM processing_queue
      WHERE status = 'processing'
        AND claimed_at < now() - :orphaned_timeout_hours * interval '1 hour') AS orphaned_records,
    (SELECT round(extract(epoch FROM now() - min(created_at)) / 60)
       FROM processing_queue WHERE status = 'pending') AS oldest_pending_minutes,
    (SELECT count(*) FROM processing_queue
      WHERE claimed_at >= now() - :window_hours * interval '1 hour'
        AND status = 'completed') AS window_completed,
    (SELECT count(*) FROM processing_queue
      WHERE claimed_at >= now() - :window_hours * interval '1 hour'
        AND status = 'failed') AS window_failed
