-- S16: the given barcodes' identifiers that are in the expected (wrong) set.
SELECT i.*
FROM warehouse.identifier AS i
WHERE i.barcode IN :barcodes
  AND i.identifier_set_id = (SELECT s.identifier_set_id FROM warehouse.identifier_set AS s
                             WHERE s.name = CAST(:from_set AS citext))
