-- make bench's data set (internal/bench/run.sh), loaded by the cluster superuser, which bypasses row-level
-- security, with every tenant_id explicit. Deterministic: every id is computed from the tenant's number NNN and
-- the page's number n, the same way in the Lua and pgbench scripts:
--   tenant     t NNN   00000000-0000-4000-a000-000000000NNN        (NNN = 100 … 199, and 900)
--   namespace          00000NNN-0000-4000-9000-000000000001
--   category           00000NNN-0000-4000-9000-000000000002
--   theme              00000NNN-0000-4000-9000-000000000003   (every page's; nine more themes with random ids)
--   tag k = 0 … 19     00000NNN-0000-4000-9000-0000000001kk
--   page n             00000NNN-0000-4000-8000-00000000nnnn     (n = 1000 … 1999; t900: 10000 … 19999, 000000nnnnn)
-- Even pages are published, at 2024-01-01 + n minutes. Page n has two tags: n % 20 and (n + 1) % 20.
-- The reference tables have a realistic size (10 themes, 20 tags a tenant): with one theme and three tags a tenant
-- they fit in a page or two, and PostgreSQL scans them whole for every embedded row instead of using their keys.
\set ON_ERROR_STOP on
BEGIN;

CREATE TEMP TABLE bench_tenant (n int, pages_from int, pages_to int) ON COMMIT DROP;
INSERT INTO bench_tenant SELECT g, 1000, 1999 FROM generate_series(100, 199) AS g;
INSERT INTO bench_tenant VALUES (900, 10000, 19999);

INSERT INTO pgtenant.tenants (id, identifier, name, created_by)
SELECT ('00000000-0000-4000-a000-000000000' || n)::uuid, 't' || n, 'Bench tenant ' || n, 'make bench'
  FROM bench_tenant;

INSERT INTO content_namespace (tenant_id, id, slug, name)
SELECT ('00000000-0000-4000-a000-000000000' || n)::uuid, ('00000' || n || '-0000-4000-9000-000000000001')::uuid,
       'www', 'Site of tenant ' || n
  FROM bench_tenant;

INSERT INTO content_category (tenant_id, id, namespace_id, slug, name)
SELECT ('00000000-0000-4000-a000-000000000' || n)::uuid, ('00000' || n || '-0000-4000-9000-000000000002')::uuid,
       ('00000' || n || '-0000-4000-9000-000000000001')::uuid, 'news', 'News'
  FROM bench_tenant;

INSERT INTO webpages_pagetheme (tenant_id, id, name, settings)
SELECT ('00000000-0000-4000-a000-000000000' || n)::uuid, ('00000' || n || '-0000-4000-9000-000000000003')::uuid,
       'default', '{"color": "blue"}'
  FROM bench_tenant;
INSERT INTO webpages_pagetheme (tenant_id, name)
SELECT ('00000000-0000-4000-a000-000000000' || n)::uuid, 'theme-' || k FROM bench_tenant, generate_series(1, 9) AS k;

INSERT INTO webpages_webpage (tenant_id, id, namespace_id, category_id, theme_id, slug, title, body, is_published,
                              published_at, created_at, updated_at)
SELECT ('00000000-0000-4000-a000-000000000' || t.n)::uuid,
       ('00000' || t.n || '-0000-4000-8000-' || lpad(p::text, 12, '0'))::uuid,
       ('00000' || t.n || '-0000-4000-9000-000000000001')::uuid,
       ('00000' || t.n || '-0000-4000-9000-000000000002')::uuid,
       ('00000' || t.n || '-0000-4000-9000-000000000003')::uuid,
       'page-' || p,
       'Page ' || p || ' of tenant ' || t.n,
       repeat('Lorem ipsum dolor sit amet, consectetur adipiscing elit. ', 4),
       p % 2 = 0,
       CASE WHEN p % 2 = 0 THEN timestamptz '2024-01-01 00:00:00+00' + p * interval '1 minute' END,
       timestamptz '2024-01-01 00:00:00+00', timestamptz '2024-01-01 00:00:00+00'
  FROM bench_tenant AS t, generate_series(t.pages_from, t.pages_to) AS p;

INSERT INTO content_tag (tenant_id, id, namespace_id, slug, name)
SELECT ('00000000-0000-4000-a000-000000000' || n)::uuid, ('00000' || n || '-0000-4000-9000-0000000001' || lpad(k::text, 2, '0'))::uuid,
       ('00000' || n || '-0000-4000-9000-000000000001')::uuid, 'tag-' || k, 'Tag ' || k
  FROM bench_tenant, generate_series(0, 19) AS k;

INSERT INTO webpages_webpage_tags (tenant_id, webpage_id, tag_id)
SELECT ('00000000-0000-4000-a000-000000000' || t.n)::uuid,
       ('00000' || t.n || '-0000-4000-8000-' || lpad(p::text, 12, '0'))::uuid,
       ('00000' || t.n || '-0000-4000-9000-0000000001' || lpad(k::text, 2, '0'))::uuid
  FROM bench_tenant AS t, generate_series(t.pages_from, t.pages_to) AS p, (VALUES (0), (1)) AS o(i),
       LATERAL (SELECT (p + o.i) % 20 AS k) AS kk;

COMMIT;
VACUUM ANALYZE;
