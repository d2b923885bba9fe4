WITH pgrst_source AS (
  SELECT * FROM public.webpages_webpage
  WHERE tenant_id = $1
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, 0::bigint AS inserted,
  coalesce(json_agg(_postgrest_t.pgrst_row), '[]')::text AS body
FROM (SELECT json_build_object('tenant_id', tenant_id, 'id', id, 'namespace_id', namespace_id, 'category_id', category_id, 'theme_id', theme_id, 'hero_media_id', hero_media_id, 'slug', slug, 'title', title, 'body', body, 'is_published', is_published, 'published_at', published_at, 'created_at', created_at, 'updated_at', updated_at, $2::text, (SELECT row_to_json(pgrst_2) FROM (SELECT pgrst_1.tenant_id AS tenant_id, pgrst_1.id AS id, pgrst_1.name AS name, pgrst_1.settings AS settings, pgrst_1.created_at AS created_at, pgrst_1.updated_at AS updated_at FROM public.webpages_pagetheme AS pgrst_1 WHERE pgrst_1.id = pgrst_source.theme_id AND pgrst_1.tenant_id = pgrst_source.tenant_id AND pgrst_1.tenant_id = $1) AS pgrst_2)) AS pgrst_row FROM pgrst_source) _postgrest_t
