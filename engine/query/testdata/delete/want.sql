WITH pgrst_source AS (
  DELETE FROM public.webpages_webpage
  WHERE tenant_id = $1 AND id = $2
  RETURNING 1
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, 0::bigint AS inserted,
  '' AS body
FROM (SELECT * FROM pgrst_source) _postgrest_t
