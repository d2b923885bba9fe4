WITH pgrst_source AS (
  SELECT * FROM public.customer
  WHERE org_id = $1
)
SELECT NULL::bigint AS total, pg_catalog.count(*) AS page_total, 0::bigint AS inserted,
  coalesce(json_agg(_postgrest_t), '[]')::text AS body
FROM (SELECT name, (SELECT row_to_json(pgrst_2) FROM (SELECT pgrst_1.bio AS bio FROM public.customer_profile AS pgrst_1 WHERE pgrst_1.customer_id = pgrst_source.id AND pgrst_1.org_id = pgrst_source.org_id AND pgrst_1.org_id = $1) AS pgrst_2) AS customer_profile, (SELECT coalesce(json_agg(row_to_json(pgrst_4)), '[]') FROM (SELECT pgrst_3.id AS id FROM public."order" AS pgrst_3 WHERE pgrst_3.customer_id = pgrst_source.id AND pgrst_3.org_id = pgrst_source.org_id AND pgrst_3.org_id = $1) AS pgrst_4) AS "order" FROM pgrst_source) _postgrest_t
