WITH pgrst_source AS (
  UPDATE public.webpages_webpage
  SET (title) = (SELECT title FROM json_populate_record(NULL::public.webpages_webpage, $1::json))
  WHERE tenant_id = $2 AND id = $3
  RETURNING *
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, 0::bigint AS inserted,
  coalesce(json_agg(_postgrest_t), '[]')::text AS body
FROM (SELECT tenant_id, id, namespace_id, category_id, theme_id, hero_media_id, slug, title, body, is_published, published_at, created_at, updated_at FROM pgrst_source) _postgrest_t
