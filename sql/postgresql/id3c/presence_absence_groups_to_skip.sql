-- S4: the given presence_absence groups that the ETL would still pick up at
-- this revision (a group already processed or skipped at it is left alone).
SELECT p.*
FROM receiving.presence_absence AS p
WHERE p.presence_absence_id IN :groups
  AND NOT p.processing_log @> jsonb_build_array(jsonb_build_object('revision', CAST(:revision AS integer)))
