UPDATE types SET big = (SELECT string_agg(md5(i::text), '')
	FROM generate_series(1, 20000) i) WHERE id = 5;
SELECT pg_column_size(big) < octet_length(big) AND
	(SELECT reltoastrelid <> 0 FROM pg_class WHERE relname = 'types')
	FROM types WHERE id = 5;
