WITH pgrst_source AS (
  UPDATE public.webpages_webpage
  SET (title) = (SELECT title FROM json_populate_record(NULL::public.webpages_webpage, $1::json))
  WHERE tenant_id = $2 AND slug = $3
  RETURNING *
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, 0::bigint AS inserted,
  coalesce(json_agg(_postgrest_t), '[]')::text AS body
FROM (SELECT slug, (SELECT coalesce(json_agg(row_to_json(pgrst_3)), '[]') FROM (SELECT pgrst_1.name AS name FROM public.content_tag AS pgrst_1 JOIN public.webpages_webpage_tags AS pgrst_2 ON pgrst_2.tag_id = pgrst_1.id AND pgrst_2.tenant_id = pgrst_1.tenant_id WHERE pgrst_2.tenant_id = $2 AND pgrst_2.webpage_id = pgrst_source.id AND pgrst_2.tenant_id = pgrst_source.tenant_id AND pgrst_1.tenant_id = $2) AS pgrst_3) AS content_tag FROM pgrst_source) _postgrest_t
