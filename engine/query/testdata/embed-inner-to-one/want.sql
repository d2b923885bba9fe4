WITH pgrst_source AS (
  SELECT * FROM public.webpages_webpage
  WHERE tenant_id = $1 AND EXISTS (SELECT 1 FROM public.webpages_pagetheme AS pgrst_1 WHERE pgrst_1.id = webpages_webpage.theme_id AND pgrst_1.tenant_id = webpages_webpage.tenant_id AND pgrst_1.tenant_id = $1 AND pgrst_1.name = $2)
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, 0::bigint AS inserted,
  coalesce(json_agg(_postgrest_t), '[]')::text AS body
FROM (SELECT id, (SELECT row_to_json(pgrst_3) FROM (SELECT pgrst_2.name AS name FROM public.webpages_pagetheme AS pgrst_2 WHERE pgrst_2.id = pgrst_source.theme_id AND pgrst_2.tenant_id = pgrst_source.tenant_id AND pgrst_2.tenant_id = $1 AND pgrst_2.name = $3) AS pgrst_3) AS webpages_pagetheme FROM pgrst_source) _postgrest_t
