WITH pgrst_source AS (
  SELECT * FROM public.currency
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, 0::bigint AS inserted,
  coalesce(json_agg(_postgrest_t), '[]')::text AS body
FROM (SELECT code, (SELECT coalesce(json_agg(row_to_json(pgrst_5)), '[]') FROM (SELECT pgrst_1.name AS name, (SELECT coalesce(json_agg(row_to_json(pgrst_4)), '[]') FROM (SELECT pgrst_2.placed_at AS placed_at FROM public."order" AS pgrst_2 JOIN public.order_item AS pgrst_3 ON pgrst_3.order_id = pgrst_2.id AND pgrst_3.org_id = pgrst_2.org_id WHERE pgrst_3.org_id = $1 AND pgrst_3.product_id = pgrst_1.id AND pgrst_3.org_id = pgrst_1.org_id AND pgrst_2.org_id = $1) AS pgrst_4) AS "order" FROM public.product AS pgrst_1 WHERE pgrst_1.currency_code = pgrst_source.code AND pgrst_1.org_id = $1 ORDER BY pgrst_1.name) AS pgrst_5) AS product FROM pgrst_source) _postgrest_t
