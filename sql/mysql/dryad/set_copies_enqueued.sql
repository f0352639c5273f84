-- D1/D6 change: back to enqueued; a job is enqueued for each next (dryad_enqueue_copy_jobs).
UPDATE stash_engine_zenodo_copies
SET state = 'enqueued', updated_at = NOW()
WHERE id IN :keys
