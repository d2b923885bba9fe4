WITH pgrst_source AS (
  SELECT * FROM public.webpages_webpage
  WHERE tenant_id = $1
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, 0::bigint AS inserted,
  coalesce(json_agg(_postgrest_t), '[]')::text AS body
FROM (SELECT id, title, (SELECT row_to_json(pgrst_2) FROM (SELECT pgrst_1.name AS name FROM public.webpages_pagetheme AS pgrst_1 WHERE pgrst_1.id = pgrst_source.theme_id AND pgrst_1.tenant_id = pgrst_source.tenant_id AND pgrst_1.tenant_id = $1) AS pgrst_2) AS webpages_pagetheme FROM pgrst_source) _postgrest_t
