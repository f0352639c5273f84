-- S14: per original LIMS id and sample, its results, and the sample's results
-- under any other LIMS id (the re-attached ones).
SELECT split_part(p.identifier, '/', 2) AS lims_id, p.sample_id, count(*) AS results,
       (SELECT count(*) FROM warehouse.presence_absence AS q
        WHERE q.sample_id = p.sample_id
          AND split_part(q.identifier, '/', 2) <> split_part(p.identifier, '/', 2)) AS other_results
FROM warehouse.presence_absence AS p
WHERE split_part(p.identifier, '/', 1) = 'NWGC'
  AND split_part(p.identifier, '/', 2) IN :lims_ids
GROUP BY split_part(p.identifier, '/', 2), p.sample_id
ORDER BY lims_id, p.sample_id
