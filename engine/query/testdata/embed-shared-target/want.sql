WITH pgrst_source AS (
  SELECT * FROM public.content_namespace
  WHERE tenant_id = $1
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, 0::bigint AS inserted,
  coalesce(json_agg(_postgrest_t), '[]')::text AS body
FROM (SELECT slug, (SELECT row_to_json(pgrst_2) FROM (SELECT pgrst_1.name AS name FROM public.content_language AS pgrst_1 WHERE pgrst_1.code = pgrst_source.language_code) AS pgrst_2) AS content_language FROM pgrst_source) _postgrest_t
