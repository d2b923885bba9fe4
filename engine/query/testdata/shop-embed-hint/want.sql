WITH pgrst_source AS (
  SELECT * FROM public.invoice
  WHERE org_id = $1 AND EXISTS (SELECT 1 FROM public.customer AS pgrst_1 WHERE pgrst_1.id = invoice.shipped_to_id AND pgrst_1.org_id = invoice.org_id AND pgrst_1.org_id = $1)
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, 0::bigint AS inserted,
  coalesce(json_agg(_postgrest_t.pgrst_row), '[]')::text AS body
FROM (SELECT json_build_object('id', id, $2::text, (SELECT row_to_json(pgrst_3) FROM (SELECT pgrst_2.name AS name FROM public.customer AS pgrst_2 WHERE pgrst_2.id = pgrst_source.billed_to_id AND pgrst_2.org_id = pgrst_source.org_id AND pgrst_2.org_id = $1) AS pgrst_3), $3::text, (SELECT row_to_json(pgrst_5) FROM (SELECT pgrst_4.name AS name FROM public.customer AS pgrst_4 WHERE pgrst_4.id = pgrst_source.shipped_to_id AND pgrst_4.org_id = pgrst_source.org_id AND pgrst_4.org_id = $1) AS pgrst_5)) AS pgrst_row FROM pgrst_source) _postgrest_t
