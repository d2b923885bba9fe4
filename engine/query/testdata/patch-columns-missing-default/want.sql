WITH pgrst_source AS (
  UPDATE public.webpages_webpage
  SET (title) = (SELECT title FROM json_populate_record(NULL::public.webpages_webpage, $1::json)), is_published = DEFAULT
  WHERE tenant_id = $2 AND slug = $3
  RETURNING 1
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, 0::bigint AS inserted,
  '' AS body
FROM (SELECT * FROM pgrst_source) _postgrest_t
