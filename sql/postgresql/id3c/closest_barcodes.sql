-- S1: the real barcodes closest to an unknown one. Candidates are the nearest by
-- trigram distance (pg_trgm, GiST index on lower(barcode)); they are ranked by
-- edit distance (fuzzystrmatch levenshtein), then trigram similarity. Each comes
-- with its identifier set and whether a sample uses it.
WITH candidates AS (
    SELECT i.uuid, i.barcode, i.identifier_set_id, lower(i.barcode::text) AS lower_barcode
    FROM warehouse.identifier AS i
    ORDER BY lower(i.barcode::text) <-> lower(CAST(:barcode AS text))
    LIMIT :candidates
)
SELECT c.barcode::text AS barcode,
       s.name::text AS identifier_set,
       s.use,
       levenshtein(c.lower_barcode, lower(CAST(:barcode AS text))) AS distance,
       round(CAST(similarity(c.lower_barcode, lower(CAST(:barcode AS text))) AS numeric), 3) AS similarity,
       EXISTS (SELECT 1 FROM warehouse.sample AS x
               WHERE x.identifier = c.uuid::text OR x.collection_identifier = c.uuid::text) AS in_use
FROM candidates AS c
JOIN warehouse.identifier_set AS s USING (identifier_set_id)
WHERE levenshtein(c.lower_barcode, lower(CAST(:barcode AS text))) <= :max_distance
ORDER BY distance, similarity DESC, barcode
LIMIT :max_results
