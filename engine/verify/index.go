package verify

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"pgtenant/engine/ddl"
)

// badIndexesQuery lists the indexes of the tables of schema $1 that have the tenant column $2 whose first key is
// not that column (an expression counts as not), with the constraint the index backs, if any.
const badIndexesQuery = `SELECT c.relname::text, i.relname::text, pg_catalog.pg_get_indexdef(x.indexrelid),
       COALESCE((SELECT k.conname::text FROM pg_catalog.pg_constraint k WHERE k.conindid = x.indexrelid
                  AND k.conrelid = c.oid AND k.contype IN ('p', 'u', 'x')), '')
  FROM pg_catalog.pg_index x
  JOIN pg_catalog.pg_class c ON c.oid = x.indrelid
  JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = $2 AND NOT a.attisdropped
 WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND x.indkey[0] <> a.attnum
 ORDER BY 1, 2`

// badForeignKeysQuery lists the foreign keys between two tables that both have the tenant column $2, from a table
// of schema $1, that do not pair the tenant columns first on both sides; with both column lists and the rest of
// the definition (its actions).
const badForeignKeysQuery = `SELECT c.relname::text, k.conname::text,
       pg_catalog.quote_ident(rn.nspname) || '.' || pg_catalog.quote_ident(r.relname),
       ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY AS u(n, i)
               JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i),
       ARRAY(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY AS u(n, i)
               JOIN pg_catalog.pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i),
       pg_catalog.pg_get_constraintdef(k.oid)
  FROM pg_catalog.pg_constraint k
  JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_class r ON r.oid = k.confrelid
  JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace
  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = $2 AND NOT a.attisdropped
  JOIN pg_catalog.pg_attribute ra ON ra.attrelid = r.oid AND ra.attname = $2 AND NOT ra.attisdropped
 WHERE k.contype = 'f' AND n.nspname = $1 AND (k.conkey[1] <> a.attnum OR k.confkey[1] <> ra.attnum)
 ORDER BY 1, 2`

// checkIndexes returns CheckIndexes, read from pg_catalog as the owner, over every table of public with the
// tenant column (declared or not):
//
//   - every index, including those of primary keys and unique constraints, leads with the tenant column: the
//     tenant's rows are one range of it (the policy predicate and the API's own tenant filter use it), and a
//     unique index without it would make one tenant's values collide with another's and reveal them;
//   - every foreign key between two such tables pairs the tenant columns first, on both sides: one that does not
//     lets a row reference another tenant's row (PostgreSQL checks foreign keys without row-level security).
func (s *session) checkIndexes(ctx context.Context) Result {
	if r := s.needAdmin(CheckIndexes); r != nil {
		return r[0]
	}
	col := s.cfg.Declared.Tenancy.Column
	var problems []problem
	var table, index, def, constraint string
	rows, err := s.admin.Query(ctx, badIndexesQuery, ddl.Schema, col)
	if err != nil {
		return failedQuery(CheckIndexes, err)
	}
	_, err = pgx.ForEachRow(rows, []any{&table, &index, &def, &constraint}, func() error {
		p := problem{detail: fmt.Sprintf("index %s on %s does not lead with %s", index, qualified(table), col)}
		switch {
		case constraint != "":
			p.fix = fmt.Sprintf("recreate constraint %s of %s with %s as its first column", ddl.Ident(constraint),
				qualified(table), ddl.Ident(col))
		default:
			p.fix = fmt.Sprintf("DROP INDEX %s; %s;", qualified(index), leadWith(def, col))
		}
		problems = append(problems, p)
		return nil
	})
	if err != nil {
		return failedQuery(CheckIndexes, err)
	}
	var ref string
	var cols, refCols []string
	rows, err = s.admin.Query(ctx, badForeignKeysQuery, ddl.Schema, col)
	if err != nil {
		return failedQuery(CheckIndexes, err)
	}
	_, err = pgx.ForEachRow(rows, []any{&table, &constraint, &ref, &cols, &refCols, &def}, func() error {
		t := qualified(table)
		rest := ""
		if i := strings.Index(def, " REFERENCES "); i >= 0 {
			if j := strings.Index(def[i:], ")"); j >= 0 {
				rest = def[i+j+1:]
			}
		}
		problems = append(problems, problem{
			fmt.Sprintf("foreign key %s of %s references %s without pairing %s first: a row can reference "+
				"another tenant's row", constraint, t, ref, col),
			fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT %s, ADD CONSTRAINT %s FOREIGN KEY (%s) REFERENCES %s (%s)%s;",
				t, ddl.Ident(constraint), ddl.Ident(constraint), ddl.Idents(leading(col, cols)), ref,
				ddl.Idents(leading(col, refCols)), rest)})
		return nil
	})
	if err != nil {
		return failedQuery(CheckIndexes, err)
	}
	return result(CheckIndexes, "", problems)
}

// leading returns cols with col moved (or added) to the front.
func leading(col string, cols []string) []string {
	out := []string{col}
	for _, c := range cols {
		if c != col {
			out = append(out, c)
		}
	}
	return out
}

// leadWith rewrites pg_get_indexdef's "CREATE INDEX x ON t USING btree (a, b) …" to lead with col.
func leadWith(def, col string) string {
	i := strings.Index(def, " USING ")
	if i < 0 {
		return def
	}
	j := strings.Index(def[i:], "(")
	if j < 0 {
		return def
	}
	at := i + j + 1
	return def[:at] + ddl.Ident(col) + ", " + def[at:]
}
