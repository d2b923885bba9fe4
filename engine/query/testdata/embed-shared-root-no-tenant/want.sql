WITH pgrst_source AS (
  SELECT * FROM public.content_language
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, 0::bigint AS inserted,
  coalesce(json_agg(_postgrest_t.pgrst_row), '[]')::text AS body
FROM (SELECT json_build_object('code', code, 'content_namespace', (SELECT coalesce(json_agg(row_to_json(pgrst_2)), '[]') FROM (SELECT pgrst_1.slug AS slug FROM public.content_namespace AS pgrst_1 WHERE pgrst_1.language_code = pgrst_source.code AND false) AS pgrst_2), $1::text, (SELECT coalesce(json_agg(row_to_json(pgrst_7)), '[]') FROM (SELECT pgrst_3.slug AS slug, (SELECT coalesce(json_agg(row_to_json(pgrst_6)), '[]') FROM (SELECT pgrst_5.slug AS slug FROM public.webpages_webpage AS pgrst_5 WHERE pgrst_5.namespace_id = pgrst_3.id AND pgrst_5.tenant_id = pgrst_3.tenant_id AND false) AS pgrst_6) AS webpages_webpage FROM public.content_namespace AS pgrst_3 WHERE pgrst_3.language_code = pgrst_source.code AND false AND EXISTS (SELECT 1 FROM public.webpages_webpage AS pgrst_4 WHERE pgrst_4.namespace_id = pgrst_3.id AND pgrst_4.tenant_id = pgrst_3.tenant_id AND false)) AS pgrst_7)) AS pgrst_row FROM pgrst_source) _postgrest_t
