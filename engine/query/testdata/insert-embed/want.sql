WITH pgrst_source AS (
  INSERT INTO public.webpages_webpage (namespace_id, theme_id, slug, title)
  SELECT namespace_id, theme_id, slug, title FROM json_populate_record(NULL::public.webpages_webpage, $1::json) AS pgrst_body
  RETURNING *
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, pg_catalog.count(*) AS inserted,
  coalesce(json_agg(_postgrest_t), '[]')::text AS body
FROM (SELECT slug, (SELECT row_to_json(pgrst_2) FROM (SELECT pgrst_1.name AS name FROM public.webpages_pagetheme AS pgrst_1 WHERE pgrst_1.id = pgrst_source.theme_id AND pgrst_1.tenant_id = pgrst_source.tenant_id AND pgrst_1.tenant_id = $2) AS pgrst_2) AS webpages_pagetheme FROM pgrst_source) _postgrest_t
