WITH pgrst_source AS (
  SELECT * FROM public.content_language
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, 0::bigint AS inserted,
  coalesce(json_agg(_postgrest_t), '[]')::text AS body
FROM (SELECT code, (SELECT coalesce(json_agg(row_to_json(pgrst_2)), '[]') FROM (SELECT pgrst_1.slug AS slug FROM public.content_namespace AS pgrst_1 WHERE pgrst_1.language_code = pgrst_source.code AND pgrst_1.tenant_id = $1) AS pgrst_2) AS content_namespace FROM pgrst_source) _postgrest_t
