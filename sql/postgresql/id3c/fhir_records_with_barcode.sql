-- S2: the FHIR ETL's receiving records whose Specimen has the given barcode.
SELECT f.*
FROM receiving.fhir AS f
WHERE f.document @> jsonb_build_object('entry', jsonb_build_array(jsonb_build_object('resource',
          jsonb_build_object('resourceType', 'Specimen',
                             'identifier', jsonb_build_array(jsonb_build_object('value', CAST(:barcode AS text)))))))
