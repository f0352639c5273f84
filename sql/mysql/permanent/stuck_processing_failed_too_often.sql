-- P6 target: stuck in processing past the threshold, after failing too often already.
SELECT *
FROM record
WHERE status = 'status.record.processing'
  AND updatedDT < NOW() - INTERVAL :older_than_minutes MINUTE
  AND recordId IN :failed_too_often
ORDER BY recordId
