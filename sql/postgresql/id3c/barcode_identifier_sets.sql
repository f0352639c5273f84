-- S2, S16: the identifier set of each given barcode (citext: any case matches).
SELECT i.barcode::text AS barcode, i.uuid::text AS uuid, s.name::text AS identifier_set, s.use
FROM warehouse.identifier AS i
JOIN warehouse.identifier_set AS s USING (identifier_set_id)
WHERE i.barcode IN :barcodes
ORDER BY i.barcode
