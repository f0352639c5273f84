-- P1: records still in flight, by status, created inside the window (the runbook's query).
SELECT status, COUNT(*) AS records
FROM record
WHERE status NOT IN ('status.generic.ok', 'status.record.only_meta', 'status.generic.deleted')
  AND createdDT > NOW() - INTERVAL :window_start_minutes MINUTE
  AND createdDT < NOW() - INTERVAL :window_end_minutes MINUTE
GROUP BY status
ORDER BY status
