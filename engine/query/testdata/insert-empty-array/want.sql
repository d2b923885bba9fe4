WITH pgrst_source AS (
  INSERT INTO public.webpages_pagetheme
  SELECT FROM json_populate_recordset(NULL::public.webpages_pagetheme, $1::json) AS pgrst_body
  RETURNING *
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, pg_catalog.count(*) AS inserted,
  coalesce(json_agg(_postgrest_t), '[]')::text AS body
FROM (SELECT tenant_id, id, name, settings, created_at, updated_at FROM pgrst_source) _postgrest_t
