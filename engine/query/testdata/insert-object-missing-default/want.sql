WITH pgrst_source AS (
  INSERT INTO public.webpages_webpage (namespace_id, slug, title)
  SELECT namespace_id, slug, title FROM json_populate_record(NULL::public.webpages_webpage, $1::json) AS pgrst_body
  RETURNING 1
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, pg_catalog.count(*) AS inserted,
  '' AS body
FROM (SELECT * FROM pgrst_source) _postgrest_t
