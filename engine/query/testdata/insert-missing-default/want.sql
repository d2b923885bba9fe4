WITH pgrst_source AS (
  INSERT INTO public.webpages_webpage (namespace_id, slug, title, is_published)
  SELECT namespace_id, slug, title, is_published FROM jsonb_populate_recordset(NULL::public.webpages_webpage, (SELECT jsonb_agg(jsonb_build_object('is_published', false) || pgrst_e) FROM jsonb_array_elements($1::jsonb) AS pgrst_e)) AS pgrst_body
  RETURNING *
)
SELECT pg_catalog.count(*) AS total, pg_catalog.count(*) AS page_total, pg_catalog.count(*) AS inserted,
  coalesce(json_agg(_postgrest_t), '[]')::text AS body
FROM (SELECT id FROM pgrst_source) _postgrest_t
