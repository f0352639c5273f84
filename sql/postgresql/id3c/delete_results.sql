DELETE FROM warehouse.presence_absence WHERE presence_absence_id IN :keys
