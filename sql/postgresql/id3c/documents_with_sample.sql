-- S15: the presence_absence documents that contain a sample (its barcode as
-- investigatorId), oldest first, with the document's text as stored.
SELECT p.presence_absence_id, p.received, p.document::text AS document
FROM receiving.presence_absence AS p
WHERE EXISTS (SELECT 1 FROM json_array_elements(p.document -> 'samples') AS e (entry)
              WHERE lower(e.entry ->> 'investigatorId') = lower(CAST(:barcode AS text)))
ORDER BY p.received, p.presence_absence_id
