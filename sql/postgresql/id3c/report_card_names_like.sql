-- S11: questions whose name contains the given text, or is contained in it (any case).
SELECT id, name, cache_ttl
FROM report_card
WHERE NOT archived
  AND (strpos(lower(name), lower(:name)) > 0 OR strpos(lower(:name), lower(name)) > 0)
ORDER BY name
LIMIT 10
