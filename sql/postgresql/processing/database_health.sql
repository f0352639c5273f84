-- Q7: connections to this database by application and state, against max_connections.
SELECT
    coalesce(nullif(split_part(application_name, ' ', 1), ''), usename::text, '(unknown)') AS application,
    count(*) AS connections,
    count(*) FILTER (WHERE state = 'active') AS active,
    count(*) FILTER (WHERE state = 'idle') AS idle,
    count(*) FILTER (WHERE state LIKE 'idle in transaction%') AS idle_in_transaction,
    count(*) FILTER (WHERE wait_event_type = 'Lock') AS waiting_on_locks,
    coalesce(round(max(extract(epoch FROM now() - xact_start)) FILTER (WHERE state <> 'idle')), 0)
        AS longest_transaction_seconds,
    current_setting('max_connections')::int AS max_connections,
    (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend') AS server_connections
FROM pg_stat_activity
WHERE datname = current_database()
  AND backend_type = 'client backend'
  AND pid <> pg_backend_pid()
GROUP BY 1
ORDER BY connections DESC
