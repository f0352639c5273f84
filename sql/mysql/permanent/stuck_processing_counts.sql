-- P6 report: how many records sit in processing, and for how long.
SELECT COUNT(*) AS records,
       MIN(updatedDT) AS oldest_update,
       SUM(updatedDT < NOW() - INTERVAL :older_than_minutes MINUTE) AS past_threshold
FROM record
WHERE status = 'status.record.processing'
