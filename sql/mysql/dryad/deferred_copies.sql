-- D6 target: copies deferred while defer_jobs.txt was in place.
SELECT *
FROM stash_engine_zenodo_copies
WHERE state = 'deferred'
ORDER BY id
