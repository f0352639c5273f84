-- S16: receiving records an ETL skipped that carry one of the barcodes: FHIR
-- bundles (Specimen identifier) and manifest rows (sample or collection).
SELECT 'receiving.fhir' AS receiving_table, f.fhir_id AS id, f.received, spec.value AS barcode
FROM receiving.fhir AS f
CROSS JOIN LATERAL (
    SELECT lower(ident ->> 'value') AS value
    FROM jsonb_array_elements(f.document -> 'entry') AS entry
    CROSS JOIN LATERAL jsonb_array_elements(entry -> 'resource' -> 'identifier') AS ident
    WHERE entry -> 'resource' ->> 'resourceType' = 'Specimen') AS spec
WHERE f.processing_log @> '[{"status": "skipped"}]'
  AND spec.value IN :barcodes
UNION ALL
SELECT 'receiving.manifest', m.manifest_id, m.received, lower(coalesce(m.document ->> 'collection', m.document ->> 'sample'))
FROM receiving.manifest AS m
WHERE m.processing_log @> '[{"status": "skipped"}]'
  AND (lower(m.document ->> 'sample') IN :barcodes OR lower(m.document ->> 'collection') IN :barcodes)
ORDER BY 1, 2
