WITH pgrst_source AS (
  UPDATE public.webpages_pagetheme
  SET (name) = (SELECT name FROM json_populate_record(NULL::public.webpages_pagetheme, $1::json))
  WHERE tenant_id = $2 AND name = $3
  RETURNING 1
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, 0::bigint AS inserted,
  '' AS body
FROM (SELECT * FROM pgrst_source) _postgrest_t
