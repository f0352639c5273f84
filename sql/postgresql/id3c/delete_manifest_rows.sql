DELETE FROM receiving.manifest WHERE manifest_id IN :keys
