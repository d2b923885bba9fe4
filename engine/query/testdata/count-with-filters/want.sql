WITH pgrst_source AS (
  SELECT * FROM public.webpages_webpage
  WHERE tenant_id = $1 AND slug LIKE $2
  LIMIT 2 OFFSET $3
),
pgrst_source_count AS (
  SELECT 1 FROM public.webpages_webpage WHERE tenant_id = $1 AND slug LIKE $2
)
SELECT (SELECT pg_catalog.count(*) FROM pgrst_source_count) AS total, pg_catalog.count(*) AS page_total, 0::bigint AS inserted,
  coalesce(json_agg(_postgrest_t), '[]')::text AS body
FROM (SELECT id FROM pgrst_source) _postgrest_t
