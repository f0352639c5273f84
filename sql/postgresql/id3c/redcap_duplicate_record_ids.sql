-- S7, S12: REDCap record ids seen in more than one event or repeat instance of
-- a project (what the REDCap DET ETL cannot handle), from the received DETs.
SELECT d.document ->> 'project_id' AS project_id, d.document ->> 'record' AS record_id,
       count(*) AS dets,
       count(DISTINCT coalesce(d.document ->> 'redcap_event_name', '') || '#'
                      || coalesce(d.document ->> 'redcap_repeat_instance', '')) AS events_or_instances,
       min(d.received) AS first_received, max(d.received) AS last_received
FROM receiving.redcap_det AS d
GROUP BY 1, 2
HAVING count(DISTINCT coalesce(d.document ->> 'redcap_event_name', '') || '#'
                      || coalesce(d.document ->> 'redcap_repeat_instance', '')) > 1
ORDER BY project_id, record_id
