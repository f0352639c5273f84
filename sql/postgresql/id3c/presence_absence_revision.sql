-- S4: the presence-absence ETL's current revision: the highest it wrote in any
-- processing_log (its entries are {revision, timestamp}, without "etl").
SELECT max(CAST(e.entry ->> 'revision' AS integer)) AS revision
FROM receiving.presence_absence AS p
CROSS JOIN LATERAL jsonb_array_elements(p.processing_log) AS e (entry)
WHERE jsonb_typeof(e.entry -> 'revision') = 'number' AND NOT e.entry ? 'etl' AND NOT e.entry ? 'status'
