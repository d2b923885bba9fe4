WITH pgrst_source AS (
  SELECT * FROM public.webpages_webpage
  WHERE tenant_id = $1
),
pgrst_source_count AS (
  SELECT 1 FROM public.webpages_webpage WHERE tenant_id = $1
)
SELECT (SELECT pg_catalog.count(*) FROM pgrst_source_count) AS total, pg_catalog.count(*) AS page_total, 0::bigint AS inserted,
  '' AS body
FROM (SELECT * FROM pgrst_source) _postgrest_t
