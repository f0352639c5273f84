-- S4: the runbook's manual skip, verbatim: the log becomes one "manually skipped" entry.
UPDATE receiving.presence_absence
SET processing_log = jsonb_build_array(jsonb_build_object('status', 'manually skipped',
                                                          'revision', CAST(:revision AS integer)))
WHERE presence_absence_id IN :keys
