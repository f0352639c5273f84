-- S5: manifest rows not yet processed by the manifest ETL with one of the given
-- barcodes as their sample or collection (citext: any case matches).
SELECT m.*
FROM receiving.manifest AS m
WHERE NOT m.processing_log @> '[{"etl": "manifest"}]'
  AND (CAST(m.document ->> 'sample' AS citext) IN :barcodes
       OR CAST(m.document ->> 'collection' AS citext) IN :barcodes)
