-- S8: REDCap DETs an ETL skipped (e.g. an unknown discharge disposition), to
-- re-send once the mapping is deployed.
SELECT d.redcap_det_id, d.document ->> 'project_id' AS project_id, d.document ->> 'record' AS record_id,
       d.document ->> 'instrument' AS instrument, e.entry ->> 'etl' AS etl,
       e.entry ->> 'revision' AS revision, d.received
FROM receiving.redcap_det AS d
CROSS JOIN LATERAL jsonb_array_elements(d.processing_log) AS e (entry)
WHERE e.entry ->> 'status' = 'skipped'
  AND (CAST(:etl AS text) IS NULL OR e.entry ->> 'etl' = CAST(:etl AS text))
ORDER BY d.received, d.redcap_det_id
