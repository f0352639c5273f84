-- D4 change: delete the cut-off jobs, so their copies can be resent (D2, D1).
DELETE FROM delayed_jobs
WHERE id IN :keys
