WITH pgrst_source AS (
  SELECT * FROM public.webpages_pagetheme
  WHERE tenant_id = $1
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, 0::bigint AS inserted,
  coalesce(json_agg(_postgrest_t.pgrst_row), '[]')::text AS body
FROM (SELECT json_build_object('id', id, $2::text, settings -> $3::text ->> $4::text) AS pgrst_row FROM pgrst_source) _postgrest_t
