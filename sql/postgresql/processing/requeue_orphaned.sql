-- Q4 change: the orphaned attempt counts as a retry; back to pending for any worker.
UPDATE processing_queue
SET status = 'pending', retry_count = retry_count + 1, flow_instance_id = NULL, claimed_at = NULL,
    updated_at = now()
WHERE id IN :keys
  AND status = 'processing'
