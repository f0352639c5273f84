UPDATE report_card SET cache_ttl = :cache_ttl WHERE id IN :keys
