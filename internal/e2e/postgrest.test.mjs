// @supabase/postgrest-js against a running pgtenant server. Started by
// e2e_test.go, which passes the server and two tenants in the environment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PostgrestClient } from '@supabase/postgrest-js';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this through go test ./internal/e2e`);
  return v;
};
const BASE = env('BASE_URL');
const A = { id: env('TENANT_A_ID'), identifier: env('TENANT_A'), token: env('TOKEN_A'), ns: env('NS_A') };
const B = { id: env('TENANT_B_ID'), identifier: env('TENANT_B'), token: env('TOKEN_B'), ns: env('NS_B') };

const client = (t, tenantHeader = t.identifier) =>
  new PostgrestClient(BASE, { headers: { 'X-Tenant-ID': tenantHeader, Authorization: `Token ${t.token}` } });
const a = client(A);
const b = client(B);
const T = 'webpages_webpage';
const page = (t, slug, extra = {}) => ({ namespace_id: t.ns, slug, title: `Title ${slug}`, ...extra });

test('insert without select: 201 and no data', async () => {
  const r = await a.from(T).insert(page(A, 'plain'));
  assert.equal(r.error, null);
  assert.equal(r.status, 201);
  assert.equal(r.data, null);
});

test('insert many with missing=default, select back', async () => {
  const rows = [page(A, 'm1'), page(A, 'm2', { is_published: true, published_at: '2026-01-01T00:00:00Z' })];
  // Like PostgREST, a key missing from one row is NULL unless missing=default.
  const nulls = await a.from(T).insert(rows).select();
  assert.equal(nulls.status, 400);
  assert.equal(nulls.error.code, '23502');
  const r = await a.from(T).insert(rows, { defaultToNull: false }).select();
  assert.equal(r.error, null, JSON.stringify(r.error));
  assert.equal(r.status, 201);
  assert.equal(r.data.length, 2);
  assert.deepEqual(r.data.map((p) => p.slug).sort(), ['m1', 'm2']);
  for (const p of r.data) assert.equal(p.tenant_id, A.id);
});

test('insert().select().single() returns the object', async () => {
  const r = await a.from(T).insert(page(A, 'single-insert')).select('id,slug').single();
  assert.equal(r.error, null, JSON.stringify(r.error));
  assert.equal(r.data.slug, 'single-insert');
  assert.ok(r.data.id);
});

test('select, filter, order, range and exact count', async () => {
  for (const s of ['r1', 'r2', 'r3']) await a.from(T).insert(page(A, s));
  const r = await a.from(T).select('slug,title', { count: 'exact' }).like('slug', 'r%').order('slug', { ascending: false }).range(0, 1);
  assert.equal(r.error, null, JSON.stringify(r.error));
  assert.equal(r.status, 206);
  assert.equal(r.count, 3);
  assert.deepEqual(r.data.map((p) => p.slug), ['r3', 'r2']);
});

test('head with count', async () => {
  const r = await a.from(T).select('*', { count: 'exact', head: true }).like('slug', 'r%');
  assert.equal(r.error, null);
  assert.equal(r.count, 3);
  assert.equal(r.data, null);
});

test('single and maybeSingle', async () => {
  const one = await a.from(T).select('slug').eq('slug', 'r1').single();
  assert.equal(one.error, null);
  assert.deepEqual(one.data, { slug: 'r1' });

  const none = await a.from(T).select('slug').eq('slug', 'no-such-page').single();
  assert.equal(none.status, 406);
  assert.equal(none.error.code, 'PGRST116');

  const maybe = await a.from(T).select('slug').eq('slug', 'no-such-page').maybeSingle();
  assert.equal(maybe.error, null);
  assert.equal(maybe.data, null);

  const many = await a.from(T).select('slug').like('slug', 'r%').maybeSingle();
  assert.equal(many.error.code, 'PGRST116');
});

test('filters: in, is, neq, or, not', async () => {
  const inList = await a.from(T).select('slug').in('slug', ['r1', 'r3']).order('slug');
  assert.deepEqual(inList.data.map((p) => p.slug), ['r1', 'r3']);
  const isNull = await a.from(T).select('slug').is('body', null).eq('slug', 'r2');
  assert.equal(isNull.data.length, 1);
  const or = await a.from(T).select('slug').or('slug.eq.r1,slug.eq.r2').order('slug');
  assert.deepEqual(or.data.map((p) => p.slug), ['r1', 'r2']);
  const not = await a.from(T).select('slug').like('slug', 'r%').not('slug', 'eq', 'r1').order('slug');
  assert.deepEqual(not.data.map((p) => p.slug), ['r2', 'r3']);
});

test('upsert on a unique column merges', async () => {
  const first = await a.from(T).upsert(page(A, 'up', { title: 'v1' }), { onConflict: 'namespace_id,slug' }).select();
  assert.equal(first.error, null, JSON.stringify(first.error));
  const second = await a.from(T).upsert(page(A, 'up', { title: 'v2' }), { onConflict: 'namespace_id,slug' }).select();
  assert.equal(second.error, null, JSON.stringify(second.error));
  assert.equal(second.status, 200);
  assert.equal(second.data[0].title, 'v2');
  const count = await a.from(T).select('*', { count: 'exact', head: true }).eq('slug', 'up');
  assert.equal(count.count, 1);
});

test('update and delete with filters', async () => {
  const upd = await a.from(T).update({ title: 'Changed' }).eq('slug', 'm1').select();
  assert.equal(upd.error, null, JSON.stringify(upd.error));
  assert.equal(upd.data[0].title, 'Changed');
  const plain = await a.from(T).update({ title: 'Again' }).eq('slug', 'm1');
  assert.equal(plain.status, 204);

  const del = await a.from(T).delete({ count: 'exact' }).eq('slug', 'plain');
  assert.equal(del.error, null);
  assert.equal(del.status, 204);
  assert.equal(del.count, 1);
  const gone = await a.from(T).select('slug').eq('slug', 'plain');
  assert.deepEqual(gone.data, []);
});

test("another tenant's rows are invisible and untouchable", async () => {
  await b.from(T).insert(page(B, 'b-only'));
  const fromA = await a.from(T).select('slug').eq('slug', 'b-only');
  assert.deepEqual(fromA.data, []);
  const upd = await a.from(T).update({ title: 'hacked' }).eq('slug', 'b-only').select();
  assert.deepEqual(upd.data, []);
  const del = await a.from(T).delete().eq('slug', 'b-only').select();
  assert.deepEqual(del.data, []);
  const still = await b.from(T).select('title').eq('slug', 'b-only').single();
  assert.equal(still.data.title, 'Title b-only');
});

test("a token used for another tenant is refused like an unknown tenant", async () => {
  const cross = await client(A, B.identifier).from(T).select('*');
  assert.equal(cross.status, 403);
  assert.equal(cross.data, null);
  const unknown = await client(A, 'no_such_tenant').from(T).select('*');
  assert.equal(unknown.status, 403);
  assert.deepEqual(cross.error, unknown.error);
  const override = await a.from(T).select('*').setHeader('X-Tenant-ID', B.identifier);
  assert.equal(override.status, 403);
});

test('a body naming another tenant is refused and writes nothing', async () => {
  const r = await a.from(T).insert(page(A, 'smuggled', { tenant_id: B.id }));
  assert.equal(r.status, 403);
  const none = await b.from(T).select('slug').eq('slug', 'smuggled');
  assert.deepEqual(none.data, []);
  const own = await a.from(T).insert(page(A, 'own-id', { tenant_id: A.id })).select('slug,tenant_id').single();
  assert.equal(own.error, null, JSON.stringify(own.error));
  assert.equal(own.data.tenant_id, A.id);
});

test('a write without a filter is refused', async () => {
  const r = await a.from(T).delete();
  assert.equal(r.status, 400);
  const count = await a.from(T).select('*', { count: 'exact', head: true });
  assert.ok(count.count > 0);
});

// Views and functions of policies.hcl: published_pages, search_pages(q), publish_page(page_id).
const published = (t, slug, title) =>
  page(t, slug, { title, is_published: true, published_at: '2026-05-01T00:00:00Z' });

test('a view is read like a table, under the tenant', async () => {
  const ins = await a.from(T).insert([published(A, 'v-a1', 'Zebra one'), published(A, 'v-a2', 'Zebra two'),
    page(A, 'v-a3', { title: 'Zebra draft' })], { defaultToNull: false });
  assert.equal(ins.error, null, JSON.stringify(ins.error));
  assert.equal((await b.from(T).insert(published(B, 'v-b1', 'Zebra globex'))).error, null);
  const r = await a.from('published_pages').select('slug,title', { count: 'exact' }).like('slug', 'v-%').order('slug');
  assert.equal(r.error, null, JSON.stringify(r.error));
  assert.equal(r.count, 2);
  assert.deepEqual(r.data.map((p) => p.slug), ['v-a1', 'v-a2']);
  const one = await b.from('published_pages').select('title').eq('slug', 'v-b1').single();
  assert.equal(one.data.title, 'Zebra globex');
  const embedded = await a.from('published_pages').select('slug, content_namespace(id)').eq('slug', 'v-a1').single();
  assert.equal(embedded.error, null, JSON.stringify(embedded.error));
  assert.equal(embedded.data.content_namespace.id, A.ns);
  const write = await a.from('published_pages').insert({ slug: 'nope' });
  assert.equal(write.status, 405);
});

test('rpc: POST, GET, filters on the set, head and count', async () => {
  const r = await a.rpc('search_pages', { q: 'zebra' });
  assert.equal(r.error, null, JSON.stringify(r.error));
  assert.deepEqual(r.data.map((p) => p.slug).sort(), ['v-a1', 'v-a2']);
  const g = await b.rpc('search_pages', { q: 'zebra' }, { get: true });
  assert.equal(g.error, null, JSON.stringify(g.error));
  assert.deepEqual(g.data.map((p) => p.slug), ['v-b1']);
  const f = await a.rpc('search_pages', { q: 'zebra' }).select('slug').eq('slug', 'v-a2');
  assert.deepEqual(f.data, [{ slug: 'v-a2' }]);
  const h = await a.rpc('search_pages', { q: 'zebra' }, { head: true, count: 'exact' });
  assert.equal(h.error, null, JSON.stringify(h.error));
  assert.equal(h.count, 2);
  assert.equal(h.data, null);
  const c = await a.rpc('search_pages', { q: 'zebra' }, { get: true, count: 'exact' }).limit(1);
  assert.equal(c.count, 2);
  assert.equal(c.data.length, 1);
  const missing = await a.rpc('search_page', { q: 'zebra' });
  assert.equal(missing.status, 404);
  assert.equal(missing.error.code, 'PGRST202');
});

test('rpc: a volatile function runs on POST only, within the tenant', async () => {
  const draft = await a.from(T).select('id').eq('slug', 'v-a3').single();
  const refused = await a.rpc('publish_page', { page_id: draft.data.id }, { get: true });
  assert.equal(refused.status, 405);
  const cross = await b.rpc('publish_page', { page_id: draft.data.id });
  assert.equal(cross.status, 404);
  const r = await a.rpc('publish_page', { page_id: draft.data.id });
  assert.equal(r.error, null, JSON.stringify(r.error));
  assert.equal(r.data.slug, 'v-a3');
  assert.equal(r.data.is_published, true);
  const now = await a.rpc('search_pages', { q: 'zebra draft' });
  assert.deepEqual(now.data.map((p) => p.slug), ['v-a3']);
});

// Embedding: a page with its theme and tags in one request, as a list view fetches it.
const embedSite = async (t, c, prefix) => {
  const theme = await c.from('webpages_pagetheme').insert({ name: `${prefix}-dark` }).select().single();
  assert.equal(theme.error, null, JSON.stringify(theme.error));
  const tags = await c.from('content_tag').insert([
    { namespace_id: t.ns, slug: `${prefix}-news`, name: `${prefix} News` },
    { namespace_id: t.ns, slug: `${prefix}-go`, name: `${prefix} Go` },
  ]).select('id,name');
  assert.equal(tags.error, null, JSON.stringify(tags.error));
  const pages = await c.from(T).insert([
    page(t, `${prefix}-tagged`, { theme_id: theme.data.id }),
    page(t, `${prefix}-bare`),
  ]).select('id,slug');
  assert.equal(pages.error, null, JSON.stringify(pages.error));
  const tagged = pages.data.find((p) => p.slug === `${prefix}-tagged`);
  const links = await c.from('webpages_webpage_tags').insert(tags.data.map((tag) => ({ webpage_id: tagged.id, tag_id: tag.id })));
  assert.equal(links.error, null, JSON.stringify(links.error));
  return { theme: theme.data };
};

test('embedding: theme and tags, nested, !inner, a filter and an order on the embed, insert().select()', async () => {
  const site = await embedSite(A, a, 'emb');
  await embedSite(B, b, 'bemb');

  const list = await a.from(T).select('*, webpages_pagetheme(name), content_tag(name)').like('slug', 'emb-*').order('slug');
  assert.equal(list.error, null, JSON.stringify(list.error));
  assert.deepEqual(list.data.map((p) => [p.slug, p.webpages_pagetheme, p.content_tag.map((t) => t.name).sort()]), [
    ['emb-bare', null, []],
    ['emb-tagged', { name: 'emb-dark' }, ['emb Go', 'emb News']],
  ]);
  assert.equal(list.data[0].tenant_id, A.id);

  const nested = await a.from('content_namespace').select('slug, webpages_webpage(slug, webpages_pagetheme(name), content_tag(name))')
    .eq('webpages_webpage.slug', 'emb-tagged');
  assert.equal(nested.error, null, JSON.stringify(nested.error));
  assert.equal(nested.data.length, 1);
  assert.equal(nested.data[0].webpages_webpage.length, 1);
  assert.deepEqual(nested.data[0].webpages_webpage[0].webpages_pagetheme, { name: 'emb-dark' });
  assert.equal(nested.data[0].webpages_webpage[0].content_tag.length, 2);

  const inner = await a.from(T).select('slug, content_tag!inner(name)').like('slug', 'emb-*');
  assert.equal(inner.error, null, JSON.stringify(inner.error));
  assert.deepEqual(inner.data.map((p) => p.slug), ['emb-tagged']);

  const filtered = await a.from(T).select('slug, content_tag(name)').eq('slug', 'emb-tagged')
    .order('name', { referencedTable: 'content_tag', ascending: false }).single();
  assert.equal(filtered.error, null, JSON.stringify(filtered.error));
  assert.deepEqual(filtered.data.content_tag, [{ name: 'emb News' }, { name: 'emb Go' }]);
  const one = await a.from(T).select('slug, content_tag!inner(name)').eq('content_tag.name', 'emb Go').like('slug', 'emb-*');
  assert.deepEqual(one.data, [{ slug: 'emb-tagged', content_tag: [{ name: 'emb Go' }] }]);
  const limited = await a.from(T).select('slug, content_tag(name)').eq('slug', 'emb-tagged')
    .order('name', { referencedTable: 'content_tag' }).limit(1, { referencedTable: 'content_tag' });
  assert.deepEqual(limited.data, [{ slug: 'emb-tagged', content_tag: [{ name: 'emb Go' }] }]);

  const inserted = await a.from(T).insert(page(A, 'emb-new', { theme_id: site.theme.id })).select('*, webpages_pagetheme(*)').single();
  assert.equal(inserted.error, null, JSON.stringify(inserted.error));
  assert.equal(inserted.status, 201);
  assert.equal(inserted.data.slug, 'emb-new');
  assert.equal(inserted.data.webpages_pagetheme.name, 'emb-dark');
  assert.equal(inserted.data.webpages_pagetheme.tenant_id, A.id);

  // The other tenant's embeds hold only its own rows.
  const theirs = await b.from(T).select('slug, webpages_pagetheme(name), content_tag(name)').like('slug', '*emb-*').order('slug');
  assert.deepEqual(theirs.data.map((p) => p.slug), ['bemb-bare', 'bemb-tagged']);
  assert.ok(!JSON.stringify(theirs.data).includes('"emb'), JSON.stringify(theirs.data));

  const unknown = await a.from(T).select('slug, webpages_pagethem(name)');
  assert.equal(unknown.status, 400);
  assert.equal(unknown.error.code, 'PGRST200');
});
