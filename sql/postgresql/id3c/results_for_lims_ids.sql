-- S14, S15: presence/absence results whose identifier (NWGC/<LIMS id>/<target>[/<chip>])
-- carries one of the given LIMS ids.
SELECT p.*
FROM warehouse.presence_absence AS p
WHERE split_part(p.identifier, '/', 1) = 'NWGC'
  AND split_part(p.identifier, '/', 2) IN :lims_ids
  AND (CAST(:sample_id AS integer) IS NULL OR p.sample_id = CAST(:sample_id AS integer))
