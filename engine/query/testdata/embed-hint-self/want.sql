WITH pgrst_source AS (
  SELECT * FROM public.content_category
  WHERE tenant_id = $1
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, 0::bigint AS inserted,
  coalesce(json_agg(_postgrest_t.pgrst_row), '[]')::text AS body
FROM (SELECT json_build_object('name', name, $2::text, (SELECT row_to_json(pgrst_2) FROM (SELECT pgrst_1.name AS name FROM public.content_category AS pgrst_1 WHERE pgrst_1.id = pgrst_source.parent_id AND pgrst_1.tenant_id = pgrst_source.tenant_id AND pgrst_1.tenant_id = $1) AS pgrst_2), $3::text, (SELECT coalesce(json_agg(row_to_json(pgrst_4)), '[]') FROM (SELECT pgrst_3.name AS name FROM public.content_category AS pgrst_3 WHERE pgrst_3.parent_id = pgrst_source.id AND pgrst_3.tenant_id = pgrst_source.tenant_id AND pgrst_3.tenant_id = $1) AS pgrst_4), $4::text, (SELECT coalesce(json_agg(row_to_json(pgrst_6)), '[]') FROM (SELECT pgrst_5.slug AS slug FROM public.content_category AS pgrst_5 WHERE pgrst_5.parent_id = pgrst_source.id AND pgrst_5.tenant_id = pgrst_source.tenant_id AND pgrst_5.tenant_id = $1) AS pgrst_6)) AS pgrst_row FROM pgrst_source) _postgrest_t
