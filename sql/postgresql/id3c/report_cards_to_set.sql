-- S11: the questions with this name whose cache_ttl is not already the new value.
SELECT * FROM report_card WHERE name = :name AND cache_ttl IS DISTINCT FROM CAST(:cache_ttl AS integer)
