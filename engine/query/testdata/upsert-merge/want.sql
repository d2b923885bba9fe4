WITH pgrst_source AS (
  INSERT INTO public.webpages_webpage (namespace_id, slug, title, is_published)
  SELECT namespace_id, slug, title, is_published FROM json_populate_record(NULL::public.webpages_webpage, $1::json) AS pgrst_body
  ON CONFLICT (tenant_id, namespace_id, slug) DO UPDATE SET namespace_id = EXCLUDED.namespace_id, slug = EXCLUDED.slug, title = EXCLUDED.title, is_published = EXCLUDED.is_published WHERE webpages_webpage.tenant_id = $2
  RETURNING xmax = 0 AS pgrst_inserted
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, (SELECT pg_catalog.count(*) FROM pgrst_source WHERE pgrst_inserted) AS inserted,
  '' AS body
FROM (SELECT * FROM pgrst_source) _postgrest_t
