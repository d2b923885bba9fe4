WITH pgrst_source AS (
  SELECT * FROM public.content_language
  WHERE code = $1
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, 0::bigint AS inserted,
  coalesce(json_agg(_postgrest_t), '[]')::text AS body
FROM (SELECT code, name FROM pgrst_source) _postgrest_t
