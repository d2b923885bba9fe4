WITH pgrst_source AS (
  UPDATE public.webpages_webpage
  SET (title) = (SELECT title FROM json_populate_record(NULL::public.webpages_webpage, $1::json))
  WHERE tenant_id = $2 AND id = $3
  RETURNING *
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, 0::bigint AS inserted,
  coalesce((json_agg(_postgrest_t) -> 0)::text, '') AS body
FROM (SELECT id, title FROM pgrst_source) _postgrest_t
