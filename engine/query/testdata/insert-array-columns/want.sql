WITH pgrst_source AS (
  INSERT INTO public.webpages_webpage (namespace_id, slug, title, body)
  SELECT namespace_id, slug, title, body FROM json_populate_recordset(NULL::public.webpages_webpage, $1::json) AS pgrst_body
  RETURNING *
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, pg_catalog.count(*) AS inserted,
  coalesce(json_agg(_postgrest_t), '[]')::text AS body
FROM (SELECT tenant_id, id, namespace_id, category_id, theme_id, hero_media_id, slug, title, body, is_published, published_at, created_at, updated_at FROM pgrst_source) _postgrest_t
