WITH pgrst_source AS (
  SELECT * FROM public.webpages_webpage
  WHERE tenant_id = $1
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, 0::bigint AS inserted,
  $2::text || E'\n' || coalesce(string_agg((SELECT string_agg(CASE WHEN pgrst_c.v IS NULL THEN '' WHEN pgrst_c.v = '' OR pgrst_c.v ~ '[",\r\n]' THEN '"' || replace(pgrst_c.v, '"', '""') || '"' ELSE pgrst_c.v END, ',' ORDER BY pgrst_c.n)
    FROM json_each_text(row_to_json(_postgrest_t)) WITH ORDINALITY AS pgrst_c(k, v, n)), E'\n'), '') AS body
FROM (SELECT id, slug FROM pgrst_source) _postgrest_t
