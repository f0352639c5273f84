-- S6 (duplicates): the given samples, their encounters and how many
-- presence/absence results each has.
SELECT s.sample_id, s.identifier, s.collection_identifier, s.encounter_id, e.identifier AS encounter,
       (SELECT count(*) FROM warehouse.presence_absence AS p WHERE p.sample_id = s.sample_id) AS results
FROM warehouse.sample AS s
LEFT JOIN warehouse.encounter AS e USING (encounter_id)
WHERE s.sample_id IN :sample_ids
ORDER BY s.sample_id
