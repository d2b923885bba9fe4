WITH pgrst_source AS (
  INSERT INTO public.webpages_webpage (id, namespace_id, slug, title)
  SELECT id, namespace_id, slug, title FROM jsonb_populate_recordset(NULL::public.webpages_webpage, (SELECT jsonb_agg(jsonb_build_object('id', gen_random_uuid()) || pgrst_e) FROM jsonb_array_elements($1::jsonb) AS pgrst_e)) AS pgrst_body
  ON CONFLICT (tenant_id, id) DO NOTHING
  RETURNING *
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, pg_catalog.count(*) AS inserted,
  coalesce(json_agg(_postgrest_t), '[]')::text AS body
FROM (SELECT tenant_id, id, namespace_id, category_id, theme_id, hero_media_id, slug, title, body, is_published, published_at, created_at, updated_at FROM pgrst_source) _postgrest_t
