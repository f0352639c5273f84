-- D1/D6: one delayed_jobs row, as ActiveJob's perform_later writes it.
INSERT INTO delayed_jobs (priority, attempts, handler, run_at, queue, created_at, updated_at)
VALUES (:priority, 0, :handler, NOW(), :queue, NOW(), NOW())
