WITH pgrst_source AS (
  INSERT INTO public.webpages_webpage (id, namespace_id, slug, title)
  SELECT id, namespace_id, slug, title FROM json_populate_recordset(NULL::public.webpages_webpage, $1::json) AS pgrst_body
  ON CONFLICT (tenant_id, id) DO NOTHING
  RETURNING 1
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, pg_catalog.count(*) AS inserted,
  '' AS body
FROM (SELECT * FROM pgrst_source) _postgrest_t
