WITH pgrst_source AS (
  DELETE FROM public.webpages_webpage
  WHERE tenant_id = $1 AND slug = $2
  RETURNING *
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, 0::bigint AS inserted,
  coalesce(json_agg(_postgrest_t), '[]')::text AS body
FROM (SELECT tenant_id, id, namespace_id, category_id, theme_id, hero_media_id, slug, title, body, is_published, published_at, created_at, updated_at FROM pgrst_source) _postgrest_t
