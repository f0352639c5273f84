-- Q6 change: delete the locked (and already archived) batch.
DELETE FROM processing_queue
WHERE id IN :keys
