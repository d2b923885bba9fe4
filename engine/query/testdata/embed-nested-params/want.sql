WITH pgrst_source AS (
  SELECT * FROM public.content_namespace
  WHERE tenant_id = $1
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, 0::bigint AS inserted,
  coalesce(json_agg(_postgrest_t), '[]')::text AS body
FROM (SELECT slug, (SELECT coalesce(json_agg(row_to_json(pgrst_5)), '[]') FROM (SELECT pgrst_1.slug AS slug, (SELECT row_to_json(pgrst_3) FROM (SELECT pgrst_2.name AS name FROM public.webpages_pagetheme AS pgrst_2 WHERE pgrst_2.id = pgrst_1.theme_id AND pgrst_2.tenant_id = pgrst_1.tenant_id AND pgrst_2.tenant_id = $1 AND pgrst_2.name = $2) AS pgrst_3) AS webpages_pagetheme FROM public.webpages_webpage AS pgrst_1 WHERE pgrst_1.namespace_id = pgrst_source.id AND pgrst_1.tenant_id = pgrst_source.tenant_id AND pgrst_1.tenant_id = $1 ORDER BY (SELECT pgrst_4.name FROM public.webpages_pagetheme AS pgrst_4 WHERE pgrst_4.id = pgrst_1.theme_id AND pgrst_4.tenant_id = pgrst_1.tenant_id AND pgrst_4.tenant_id = $1 AND pgrst_4.name = $3) DESC) AS pgrst_5) AS webpages_webpage FROM pgrst_source) _postgrest_t
