-- Q10: live figures for the capacity formula: backlog, and what the workers did in the window.
SELECT
    (SELECT count(*) FROM processing_queue WHERE status = 'pending') AS pending_records,
    (SELECT count(*) FROM processing_queue WHERE status = 'processing') AS processing_records,
    (SELECT count(DISTINCT flow_instance_id) FROM flow_execution_logs
      WHERE started_at >= now() - :window_minutes * interval '1 minute') AS active_workers,
    (SELECT coalesce(sum(completed + failed), 0) FROM flow_execution_logs
      WHERE started_at >= now() - :window_minutes * interval '1 minute') AS window_processed,
    (SELECT count(*) FROM flow_execution_logs
      WHERE started_at >= now() - :window_minutes * interval '1 minute' AND claimed > 0) AS window_batches,
    (SELECT coalesce(round(avg(claimed)), 0) FROM flow_execution_logs
      WHERE started_at >= now() - :window_minutes * interval '1 minute' AND claimed > 0) AS avg_batch_size
