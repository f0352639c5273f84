-- Workers' own record of their claims: how long claims took, and lock timeouts.
SELECT
    count(*) AS batches,
    coalesce(sum(claimed), 0) AS claimed,
    coalesce(round(max(claim_ms)::numeric, 2), 0) AS max_claim_ms,
    coalesce(round((percentile_cont(0.99) WITHIN GROUP (ORDER BY claim_ms))::numeric, 2), 0) AS p99_claim_ms,
    coalesce(sum(claim_lock_timeouts), 0) AS claim_lock_timeouts
FROM flow_execution_logs
WHERE started_at >= now() - :window_minutes * interval '1 minute'
