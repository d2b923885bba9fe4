WITH pgrst_source AS (
  SELECT * FROM public.webpages_webpage
  WHERE tenant_id = $1
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, 0::bigint AS inserted,
  $2::text || E'\n' || coalesce(string_agg((SELECT string_agg(CASE WHEN pgrst_c.v IS NULL THEN '' WHEN pgrst_c.v = '' OR pgrst_c.v ~ '[",\r\n]' THEN '"' || replace(pgrst_c.v, '"', '""') || '"' ELSE pgrst_c.v END, ',' ORDER BY pgrst_c.n)
    FROM json_each_text(row_to_json(_postgrest_t)) WITH ORDINALITY AS pgrst_c(k, v, n)), E'\n'), '') AS body
FROM (SELECT slug, (SELECT row_to_json(pgrst_2) FROM (SELECT pgrst_1.name AS name FROM public.webpages_pagetheme AS pgrst_1 WHERE pgrst_1.id = pgrst_source.theme_id AND pgrst_1.tenant_id = pgrst_source.tenant_id AND pgrst_1.tenant_id = $1) AS pgrst_2) AS webpages_pagetheme FROM pgrst_source) _postgrest_t
