WITH pgrst_source AS (
  SELECT * FROM public.webpages_webpage
  WHERE tenant_id = $1
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, 0::bigint AS inserted,
  coalesce(json_agg(_postgrest_t), '[]')::text AS body
FROM (SELECT slug, (SELECT coalesce(json_agg(row_to_json(pgrst_2)), '[]') FROM (SELECT pgrst_1.tag_id AS tag_id FROM public.webpages_webpage_tags AS pgrst_1 WHERE pgrst_1.webpage_id = pgrst_source.id AND pgrst_1.tenant_id = pgrst_source.tenant_id AND pgrst_1.tenant_id = $1) AS pgrst_2) AS webpages_webpage_tags FROM pgrst_source) _postgrest_t
