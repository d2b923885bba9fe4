WITH pgrst_source AS (
  SELECT * FROM public.content_namespace
  WHERE tenant_id = $1
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, 0::bigint AS inserted,
  coalesce(json_agg(_postgrest_t), '[]')::text AS body
FROM (SELECT slug, (SELECT coalesce(json_agg(row_to_json(pgrst_2)), '[]') FROM (SELECT pgrst_1.slug AS slug, pgrst_1.title AS title FROM public.webpages_webpage AS pgrst_1 WHERE pgrst_1.namespace_id = pgrst_source.id AND pgrst_1.tenant_id = pgrst_source.tenant_id AND pgrst_1.tenant_id = $1 AND pgrst_1.is_published = FALSE ORDER BY pgrst_1.title DESC LIMIT 2 OFFSET $2) AS pgrst_2) AS webpages_webpage FROM pgrst_source) _postgrest_t
