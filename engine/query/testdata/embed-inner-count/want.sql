WITH pgrst_source AS (
  SELECT * FROM public.webpages_webpage
  WHERE tenant_id = $1 AND EXISTS (SELECT 1 FROM public.content_tag AS pgrst_1 JOIN public.webpages_webpage_tags AS pgrst_2 ON pgrst_2.tag_id = pgrst_1.id AND pgrst_2.tenant_id = pgrst_1.tenant_id WHERE pgrst_2.tenant_id = $1 AND pgrst_2.webpage_id = webpages_webpage.id AND pgrst_2.tenant_id = webpages_webpage.tenant_id AND pgrst_1.tenant_id = $1 AND pgrst_1.slug = $2)
),
pgrst_source_count AS (
  SELECT 1 FROM public.webpages_webpage WHERE tenant_id = $1 AND EXISTS (SELECT 1 FROM public.content_tag AS pgrst_1 JOIN public.webpages_webpage_tags AS pgrst_2 ON pgrst_2.tag_id = pgrst_1.id AND pgrst_2.tenant_id = pgrst_1.tenant_id WHERE pgrst_2.tenant_id = $1 AND pgrst_2.webpage_id = webpages_webpage.id AND pgrst_2.tenant_id = webpages_webpage.tenant_id AND pgrst_1.tenant_id = $1 AND pgrst_1.slug = $2)
)
SELECT (SELECT pg_catalog.count(*) FROM pgrst_source_count) AS total, pg_catalog.count(*) AS page_total, 0::bigint AS inserted,
  coalesce(json_agg(_postgrest_t), '[]')::text AS body
FROM (SELECT id, (SELECT coalesce(json_agg(row_to_json(pgrst_5)), '[]') FROM (SELECT pgrst_3.name AS name FROM public.content_tag AS pgrst_3 JOIN public.webpages_webpage_tags AS pgrst_4 ON pgrst_4.tag_id = pgrst_3.id AND pgrst_4.tenant_id = pgrst_3.tenant_id WHERE pgrst_4.tenant_id = $1 AND pgrst_4.webpage_id = pgrst_source.id AND pgrst_4.tenant_id = pgrst_source.tenant_id AND pgrst_3.tenant_id = $1 AND pgrst_3.slug = $3) AS pgrst_5) AS content_tag FROM pgrst_source) _postgrest_t
