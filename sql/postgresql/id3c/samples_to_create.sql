-- S3: for the given sample barcodes (from the aliquot manifest), a sample with
-- only its sample identifier, unless the warehouse already has one.
SELECT i.uuid::text AS identifier
FROM warehouse.identifier AS i
WHERE i.barcode IN :barcodes
  AND i.identifier_set_id IN (SELECT s.identifier_set_id FROM warehouse.identifier_set AS s WHERE s.use = 'sample')
  AND NOT EXISTS (SELECT 1 FROM warehouse.sample AS x WHERE x.identifier = i.uuid::text)
ORDER BY i.uuid
