-- S6 (duplicates): of the given samples, those without presence/absence results.
SELECT s.*
FROM warehouse.sample AS s
WHERE s.sample_id IN :sample_ids
  AND NOT EXISTS (SELECT 1 FROM warehouse.presence_absence AS p WHERE p.sample_id = s.sample_id)
