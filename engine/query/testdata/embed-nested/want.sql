WITH pgrst_source AS (
  SELECT * FROM public.content_namespace
  WHERE tenant_id = $1
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, 0::bigint AS inserted,
  coalesce(json_agg(_postgrest_t), '[]')::text AS body
FROM (SELECT slug, (SELECT coalesce(json_agg(row_to_json(pgrst_7)), '[]') FROM (SELECT pgrst_1.slug AS slug, (SELECT row_to_json(pgrst_3) FROM (SELECT pgrst_2.name AS name FROM public.webpages_pagetheme AS pgrst_2 WHERE pgrst_2.id = pgrst_1.theme_id AND pgrst_2.tenant_id = pgrst_1.tenant_id AND pgrst_2.tenant_id = $1) AS pgrst_3) AS webpages_pagetheme, (SELECT coalesce(json_agg(row_to_json(pgrst_6)), '[]') FROM (SELECT pgrst_4.name AS name FROM public.content_tag AS pgrst_4 JOIN public.webpages_webpage_tags AS pgrst_5 ON pgrst_5.tag_id = pgrst_4.id AND pgrst_5.tenant_id = pgrst_4.tenant_id WHERE pgrst_5.tenant_id = $1 AND pgrst_5.webpage_id = pgrst_1.id AND pgrst_5.tenant_id = pgrst_1.tenant_id AND pgrst_4.tenant_id = $1) AS pgrst_6) AS content_tag FROM public.webpages_webpage AS pgrst_1 WHERE pgrst_1.namespace_id = pgrst_source.id AND pgrst_1.tenant_id = pgrst_source.tenant_id AND pgrst_1.tenant_id = $1) AS pgrst_7) AS webpages_webpage FROM pgrst_source) _postgrest_t
