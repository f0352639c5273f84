-- S11: Metabase questions with exactly this name (names are not unique in Metabase).
SELECT * FROM report_card WHERE name = :name
