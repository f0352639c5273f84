-- S13: the presence_absence documents of a plate: its controls' investigatorId
-- starts with the plate name (starts_with: no LIKE wildcards in the name).
SELECT p.presence_absence_id, p.received, count(*) AS matching_samples,
       json_agg(DISTINCT s."investigatorId") AS investigator_ids
FROM receiving.presence_absence AS p,
     json_to_recordset(p.document -> 'samples') AS s ("investigatorId" text)
WHERE starts_with(s."investigatorId", :plate)
GROUP BY p.presence_absence_id, p.received
ORDER BY p.presence_absence_id
