-- S14: per original LIMS id and sample, its results, and the sample's results
-- under LIMS ids not being deleted (the re-attached ones).
WITH original AS (
    SELECT split_part(p.identifier, '/', 2) AS lims_id, p.sample_id, count(*) AS results
    FROM warehouse.presence_absence AS p
    WHERE split_part(p.identifier, '/', 1) = 'NWGC'
      AND split_part(p.identifier, '/', 2) IN :lims_ids
    GROUP BY split_part(p.identifier, '/', 2), p.sample_id
)
SELECT o.lims_id, o.sample_id, o.results,
       (SELECT count(*) FROM warehouse.presence_absence AS q
        WHERE q.sample_id = o.sample_id
          AND split_part(q.identifier, '/', 2) NOT IN :lims_ids) AS other_results
FROM original AS o
ORDER BY o.lims_id, o.sample_id
