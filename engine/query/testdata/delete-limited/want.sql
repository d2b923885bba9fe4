WITH pgrst_source AS (
  DELETE FROM public.content_category
  WHERE tenant_id = $1 AND ctid IN (SELECT ctid FROM public.content_category WHERE tenant_id = $1 AND "position" >= $2 ORDER BY "position" LIMIT 2 OFFSET $3)
  RETURNING 1
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, 0::bigint AS inserted,
  '' AS body
FROM (SELECT * FROM pgrst_source) _postgrest_t
