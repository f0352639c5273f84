DELETE FROM warehouse.sample WHERE sample_id IN :keys
