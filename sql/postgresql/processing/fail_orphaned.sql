-- Q4 change: orphaned on its last retry: failed, with the reason.
UPDATE processing_queue
SET status = 'failed', retry_count = retry_count + 1,
    error_message = 'orphaned in processing (claimed by ' || coalesce(flow_instance_id, 'unknown')
                    || ' and never finished); retries exhausted',
    updated_at = now()
WHERE id IN :keys
  AND status = 'processing'
