-- S1: the real barcodes closest to an unknown one. Candidates come from three
-- index lookups (pigeonhole: two edits of an 8-character barcode leave its first
-- 3, middle 2 or last 3 characters intact, for substitutions and transpositions,
-- and for one insertion or deletion); they are ranked by edit distance
-- (fuzzystrmatch levenshtein), then trigram similarity (pg_trgm). Each comes with
-- its identifier set and whether a sample uses it.
WITH candidates AS (
    SELECT i.uuid, i.barcode, i.identifier_set_id FROM warehouse.identifier AS i
    WHERE left(lower(i.barcode::text), 3) = left(lower(CAST(:barcode AS text)), 3)
    UNION
    SELECT i.uuid, i.barcode, i.identifier_set_id FROM warehouse.identifier AS i
    WHERE substr(lower(i.barcode::text), 4, 2) = substr(lower(CAST(:barcode AS text)), 4, 2)
    UNION
    SELECT i.uuid, i.barcode, i.identifier_set_id FROM warehouse.identifier AS i
    WHERE right(lower(i.barcode::text), 3) = right(lower(CAST(:barcode AS text)), 3)
),
ranked AS (
    SELECT c.*, levenshtein(lower(c.barcode::text), lower(CAST(:barcode AS text))) AS distance
    FROM candidates AS c
)
SELECT r.barcode::text AS barcode,
       s.name::text AS identifier_set,
       s.use,
       r.distance,
       round(CAST(similarity(lower(r.barcode::text), lower(CAST(:barcode AS text))) AS numeric), 3) AS similarity,
       EXISTS (SELECT 1 FROM warehouse.sample AS x
               WHERE x.identifier = r.uuid::text OR x.collection_identifier = r.uuid::text) AS in_use
FROM ranked AS r
JOIN warehouse.identifier_set AS s USING (identifier_set_id)
WHERE r.distance <= :max_distance
ORDER BY r.distance, similarity DESC, barcode
LIMIT :max_results
