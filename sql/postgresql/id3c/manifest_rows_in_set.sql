-- S5: manifest rows not yet processed by the manifest ETL whose sample or
-- collection barcode belongs to the given identifier set.
SELECT m.*
FROM receiving.manifest AS m
WHERE NOT m.processing_log @> '[{"etl": "manifest"}]'
  AND EXISTS (SELECT 1
              FROM warehouse.identifier AS i
              WHERE i.identifier_set_id = (SELECT s.identifier_set_id FROM warehouse.identifier_set AS s
                                           WHERE s.name = CAST(:identifier_set AS citext))
                AND i.barcode IN (CAST(m.document ->> 'sample' AS citext), CAST(m.document ->> 'collection' AS citext)))
