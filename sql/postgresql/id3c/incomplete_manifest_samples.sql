-- S6 (incomplete records): the runbook's query, with its dates as binds. The
-- samples the manifest ETL created from rows without a collection barcode,
-- whose complete rows arrived on the day of the error.
WITH error_records AS (
    SELECT document ->> 'sample' AS sample,
           document ->> 'collection' AS collection,
           processing_log
    FROM receiving.manifest
    WHERE received::date BETWEEN CAST(:date_before AS date) AND CAST(:date_of_error AS date)
      AND document ->> 'collection' IS NULL
),
complete_records AS (
    SELECT document ->> 'sample' AS sample,
           document ->> 'collection' AS collection
    FROM receiving.manifest
    WHERE received::date = CAST(:date_of_error AS date)
      AND document ->> 'collection' IS NOT NULL
)
SELECT *
FROM warehouse.sample
WHERE sample_id IN (
    SELECT DISTINCT CAST(b.plog ->> 'sample_id' AS integer) AS error_sample_id
    FROM (
        SELECT jsonb_array_elements(a.processing_log) AS plog
        FROM (
            SELECT err.processing_log
            FROM error_records AS err
            JOIN complete_records AS comp USING (sample)
        ) AS a
    ) AS b
    WHERE b.plog @> '{"etl": "manifest"}'
)
