WITH pgrst_source AS (
  INSERT INTO public.webpages_pagetheme (name)
  SELECT name FROM json_populate_record(NULL::public.webpages_pagetheme, $1::json) AS pgrst_body
  RETURNING 1
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, pg_catalog.count(*) AS inserted,
  '' AS body
FROM (SELECT * FROM pgrst_source) _postgrest_t
