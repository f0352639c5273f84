-- P6 change: failed five times; reprocessing, as the runbook says.
UPDATE record
SET status = 'status.record.reprocessing', updatedDT = NOW()
WHERE recordId IN :keys
