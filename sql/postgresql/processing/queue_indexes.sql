-- Q2: the indexes processing_queue has (compared with the recommended ones).
SELECT indexname, indexdef
FROM pg_indexes
WHERE schemaname = current_schema() AND tablename = 'processing_queue'
ORDER BY indexname
