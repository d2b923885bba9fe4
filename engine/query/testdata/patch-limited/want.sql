WITH pgrst_source AS (
  UPDATE public.content_category
  SET (name) = (SELECT name FROM json_populate_record(NULL::public.content_category, $1::json))
  WHERE tenant_id = $2 AND ctid IN (SELECT ctid FROM public.content_category WHERE tenant_id = $2 AND "position" >= $3 ORDER BY "position" DESC LIMIT 1)
  RETURNING 1
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, 0::bigint AS inserted,
  '' AS body
FROM (SELECT * FROM pgrst_source) _postgrest_t
