WITH pgrst_source AS (
  INSERT INTO public.typed_item (tags, n, label)
  SELECT tags, n, label FROM jsonb_populate_recordset(NULL::public.typed_item, (SELECT jsonb_agg(jsonb_build_object('tags', '{}'::text[], 'n', 0) || pgrst_e) FROM jsonb_array_elements($1::jsonb) AS pgrst_e)) AS pgrst_body
  RETURNING *
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, pg_catalog.count(*) AS inserted,
  coalesce(json_agg(_postgrest_t), '[]')::text AS body
FROM (SELECT tenant_id, id, tags, scores, doc, meta, search, n, label FROM pgrst_source) _postgrest_t
