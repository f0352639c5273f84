-- S15: one receiving presence_absence document (the incorrect one).
SELECT p.* FROM receiving.presence_absence AS p WHERE p.presence_absence_id = :document_id
