DELETE FROM receiving.fhir WHERE fhir_id IN :keys
