-- D2 change: "Reset stalled to error state".
UPDATE stash_engine_zenodo_copies
SET state = 'error', updated_at = NOW()
WHERE id IN :keys
