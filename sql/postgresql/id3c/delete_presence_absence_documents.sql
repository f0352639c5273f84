DELETE FROM receiving.presence_absence WHERE presence_absence_id IN :keys
