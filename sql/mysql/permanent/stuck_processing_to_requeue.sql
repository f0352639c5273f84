-- P6 target: stuck in processing past the threshold, and not yet failed too often.
SELECT *
FROM record
WHERE status = 'status.record.processing'
  AND updatedDT < NOW() - INTERVAL :older_than_minutes MINUTE
  AND recordId NOT IN :failed_too_often
ORDER BY recordId
