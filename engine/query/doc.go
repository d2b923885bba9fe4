// Package query turns one PostgREST-style request into one SQL statement.
//
// Input: a Request — the served *schema.Model and table, the method, the decoded query string (url.Values), the
// parsed Prefer and Range headers, the JSON body and the request's tenant. Output: a *Query whose SQL method
// returns the statement text and its arguments. The package is pure: it imports schema, engine/ddl (for identifier
// quoting only) and the standard library, never pgx, net/http or slog.
//
// Two rules make the SQL safe to run with request input (DESIGN.md §9, invariant 4):
//
//   - Every value of the request is a $n argument (a Go string; PostgreSQL parses it with the type it infers),
//     never SQL text: filter operands, in lists (one array literal), JSON path keys, select aliases (they become
//     json_build_object keys), text search configurations, offset, and the JSON body (one argument,
//     expanded by json_populate_record(set) server-side, like PostgREST). Casts come from an allow-list. Two
//     exceptions are not request text but values the builder spells itself, so that PostgreSQL can cache one plan
//     for the statement: a limit, an integer it parsed (LIMIT 20, as PostgREST writes it), and a boolean column
//     compared with exactly true or false (is_published = TRUE), which a partial index's predicate can match.
//   - Every identifier comes from the model and is quoted with ddl.Ident. Every statement on a tenant table
//     carries "<tenant column> = $n" itself, besides row-level security, except an INSERT, which never names the
//     tenant column: its default fills it from the transaction's tenant setting and RLS checks it (an upsert's
//     DO UPDATE carries the predicate).
//
// # Grammar
//
// The grammar is PostgREST's (see /work/shared/WIRE.md, "Parsing the server must do"), read by small
// recursive-descent parsers modelled on PostgREST's ApiRequest/QueryParams.hs:
//
//	select=*,id,alias:title,id::text,settings->colors->>main,settings->items->0   (whitespace outside "…" dropped)
//	col=[not.]op.value   eq neq gt gte lt lte like ilike match imatch is isdistinct in cs cd ov sl sr nxl nxr adj
//	                     fts plfts phfts wfts, fts(config); like(any).{a,b} (also ilike match imatch eq gt gte lt lte)
//	col=in.(1,"a,b",q"r)  is.null|not_null|true|false|unknown   like patterns accept * for %
//	or=(a.eq.1,and(b.gt.2,c.lt.9))  and=(…)  not.or=(…)  not.and=(…)   repeated keys are ANDed
//	order=a.desc.nullslast,b   limit=10  offset=20   Range: 0-9 (intersected with limit/offset)
//	columns="a","b"   on_conflict=a,b
//
//	select=*,alias:rel!hint!inner(cols,sub(*)),...rel(cols)   embedded resources, nested up to Limits.MaxEmbedDepth
//	rel.col=op.v  rel.order=…  rel.limit=N  rel.offset=N  rel.or=(…)  a.b.col=…   an embed's own parameters, by path
//	order=rel(col).desc   a parent ordered by a to-one embed's column
//	rel=is.null  rel=not.is.null   parents without / with a matching embedded row (a.rel=… one level down)
//
// Embeds follow Relationships derived from foreign keys (Request.Relationships, else ModelRelationships):
// many-to-one and one-to-one (an object or null; a foreign key over a unique key is one-to-one both ways),
// one-to-many (an array) and many-to-many through a junction table whose two foreign keys are part of its
// primary key (an array). The hint after '!' is a constraint name, a column of a single-column foreign key or a junction
// table; !inner drops the parents without a match, !left (the default) keeps them. Refusals are
// *EmbedError with PostgREST's codes (PGRST200, PGRST201, PGRST108, PGRST118, PGRST119); aggregates are
// refused with a *ParseError.
// Differences from PostgREST: a parameter that is not a column operator is an error (PostgREST ignores it);
// count=planned and count=estimated count exactly; an unreadable Range header is refused (PostgREST ignores it).
//
// # Statement
//
// Every statement has PostgREST's shape and returns exactly one row, scanned into a Result:
//
//	WITH pgrst_source AS (
//	  SELECT * FROM public.t WHERE tenant_id = $1 AND … ORDER BY … LIMIT 20 OFFSET $m   -- GET, HEAD
//	  INSERT INTO public.t (a, b) SELECT a, b FROM json_populate_recordset(NULL::public.t, $n::json) AS pgrst_body
//	    [ON CONFLICT (tenant_id, …) DO UPDATE SET a = EXCLUDED.a … WHERE t.tenant_id = $1 | DO NOTHING] RETURNING …
//	  UPDATE public.t SET (a, b) = (SELECT a, b FROM json_populate_record(NULL::public.t, $n::json))
//	    WHERE tenant_id = $1 AND … RETURNING …
//	  DELETE FROM public.t WHERE tenant_id = $1 AND … RETURNING …
//	)[, pgrst_source_count AS (SELECT 1 FROM public.t WHERE <the same filters>)]   -- GET/HEAD with Prefer: count=
//	SELECT <count or NULL>::bigint AS total, pg_catalog.count(*) AS page_total, <inserted> AS inserted,
//	  <json_agg | first object | CSV | ''> AS body
//	FROM (SELECT <select list> FROM pgrst_source) _postgrest_t
//
// An embed is a correlated sub-select in the select list (row_to_json for a to-one, json_agg for a to-many),
// an !inner embed also an EXISTS in its parent's WHERE, a spread one sub-select per column (see embed_sql.go):
// the statement stays one, whatever the depth, and a write's RETURNING rows embed like a read's.
//
// A plain JSON array read (Streams: a GET, not singular, not CSV, no count) can instead be rendered by RowsSQL as
// one row per element, (page_total, body), so that the HTTP layer passes rows on as they arrive instead of holding
// the whole array:
//
//	WITH pgrst_source AS (…)
//	SELECT pg_catalog.count(*) OVER () AS page_total, pgrst_body AS body
//	FROM (SELECT to_json(_postgrest_t)::text AS pgrst_body FROM (SELECT <select list> FROM pgrst_source) _postgrest_t) _postgrest_r
//
// # Golden cases
//
// testdata/<case>/request.txt describes one request; the test renders it into want.sql (the statement) and
// want.args.json (its arguments), and runs the statement against a real PostgreSQL. `go test ./engine/query
// -update` rewrites the want files. The format of request.txt:
//
//	# Comment lines (starting with #) come first and say what the case shows.
//	GET /webpages_webpage?select=id,title&slug=eq.about
//	Prefer: count=exact
//	Accept: application/vnd.pgrst.object+json
//
//	{"title": "the body, after one blank line, for POST and PATCH"}
//
// The request line holds the method and the path with the query string as sent on the wire (percent-encoded where
// the client encodes; '+' is a space). Header lines follow, up to a blank line: Prefer (repeatable), Accept
// (application/vnd.pgrst.object+json sets Singular, text/csv sets CSV) and Range as in HTTP, plus the test's own
// X-Tenant (the tenant UUID; default 11111111-1111-4111-8111-111111111111), X-Max-Rows (Request.MaxRows),
// X-Model (a model under testdata/ other than ../../policies.hcl, e.g. "types" for testdata/types.hcl) and
// X-Want-SQLState (the SQLSTATE the statement is expected to fail with when run, for cases the schema rejects).
//
// # Response
//
// Respond applies PostgREST's response rules to a request's Facts and its Result: the status (200, 201, 204, 206),
// Content-Range and Preference-Applied, or a *CardinalityError (406) or *RangeError (416). It is pure; the HTTP
// layer writes what it returns. Facts.Commit holds the checks a write passes before it may commit.
package query
