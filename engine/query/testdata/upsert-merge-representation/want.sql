WITH pgrst_source AS (
  INSERT INTO public.webpages_pagetheme (id, name)
  SELECT id, name FROM json_populate_recordset(NULL::public.webpages_pagetheme, $1::json) AS pgrst_body
  ON CONFLICT (tenant_id, id) DO UPDATE SET id = EXCLUDED.id, name = EXCLUDED.name WHERE webpages_pagetheme.tenant_id = $2
  RETURNING *, xmax = 0 AS pgrst_inserted
)
SELECT pg_catalog.count(*) AS total, pg_catalog.count(*) AS page_total, (SELECT pg_catalog.count(*) FROM pgrst_source WHERE pgrst_inserted) AS inserted,
  coalesce(json_agg(_postgrest_t), '[]')::text AS body
FROM (SELECT id, name FROM pgrst_source) _postgrest_t
