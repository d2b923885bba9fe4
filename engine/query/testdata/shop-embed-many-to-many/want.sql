WITH pgrst_source AS (
  SELECT * FROM public."order"
  WHERE org_id = $1
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, 0::bigint AS inserted,
  coalesce(json_agg(_postgrest_t), '[]')::text AS body
FROM (SELECT id, (SELECT row_to_json(pgrst_2) FROM (SELECT pgrst_1.name AS name FROM public.customer AS pgrst_1 WHERE pgrst_1.id = pgrst_source.customer_id AND pgrst_1.org_id = pgrst_source.org_id AND pgrst_1.org_id = $1) AS pgrst_2) AS customer, (SELECT coalesce(json_agg(row_to_json(pgrst_7)), '[]') FROM (SELECT pgrst_3.name AS name, (SELECT row_to_json(pgrst_6) FROM (SELECT pgrst_5.name AS name FROM public.currency AS pgrst_5 WHERE pgrst_5.code = pgrst_3.currency_code) AS pgrst_6) AS currency FROM public.product AS pgrst_3 JOIN public.order_item AS pgrst_4 ON pgrst_4.product_id = pgrst_3.id AND pgrst_4.org_id = pgrst_3.org_id WHERE pgrst_4.org_id = $1 AND pgrst_4.order_id = pgrst_source.id AND pgrst_4.org_id = pgrst_source.org_id AND pgrst_3.org_id = $1) AS pgrst_7) AS product FROM pgrst_source) _postgrest_t
