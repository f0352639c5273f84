-- Q5 change: back to pending; the last error_message stays for the record's history.
UPDATE processing_queue
SET status = 'pending', flow_instance_id = NULL, claimed_at = NULL, completed_at = NULL, updated_at = now()
WHERE id IN :keys
  AND status = 'failed'
