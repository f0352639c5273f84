-- S15: the warehouse sample a sample or collection barcode belongs to.
SELECT s.sample_id, i.barcode::text AS barcode, st.name::text AS identifier_set, s.identifier,
       s.collection_identifier, s.encounter_id, s.details
FROM warehouse.identifier AS i
JOIN warehouse.identifier_set AS st USING (identifier_set_id)
JOIN warehouse.sample AS s ON s.identifier = i.uuid::text OR s.collection_identifier = i.uuid::text
WHERE i.barcode = CAST(:barcode AS citext)
