-- S5, S16: every identifier set, to check a name and to list the choices.
SELECT identifier_set_id, name::text AS name, use FROM warehouse.identifier_set ORDER BY name
