UPDATE warehouse.identifier
SET identifier_set_id = (SELECT s.identifier_set_id FROM warehouse.identifier_set AS s
                         WHERE s.name = CAST(:to_set AS citext))
WHERE uuid IN :keys
