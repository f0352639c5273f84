-- P6 change: back to needs_processing, so the re-submit picks the records up.
UPDATE record
SET status = 'status.record.needs_processing', updatedDT = NOW()
WHERE recordId IN :keys
