package introspect

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Querier is what Read reads through: a *pgx.Conn, a *pgxpool.Pool or a pgx.Tx.
type Querier interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// userSchema is true of a schema n of the user's: not pg_catalog, pg_toast, another pg_* schema or
// information_schema.
const userSchema = `n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'`

// userTable follows a join of pg_class c: it keeps the tables of the user's schemas (n).
const userTable = ` JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND ` + userSchema

// relExtension, nspExtension and procExtension are true of a relation c, a schema n, a function p that belongs to
// an extension.
const (
	relExtension  = `EXISTS (SELECT FROM pg_depend e WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e')`
	nspExtension  = `EXISTS (SELECT FROM pg_depend e WHERE e.classid = 'pg_namespace'::regclass AND e.objid = n.oid AND e.deptype = 'e')`
	procExtension = `EXISTS (SELECT FROM pg_depend e WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid AND e.deptype = 'e')`
)

// memberOfCTE lists the current role and every role it is a member of, directly or through other roles, each
// with via: the role granted to the current role that the membership goes through (0 for the current role
// itself). pg_has_role(…, 'MEMBER') is true of every role for a superuser; walking pg_auth_members keeps "owns a
// table through membership" exact for superusers too. UNION (not UNION ALL) ends the walk on membership cycles.
const memberOfCTE = `WITH RECURSIVE member_of(oid, via) AS (
    SELECT oid, 0::oid FROM pg_roles WHERE rolname = current_user
    UNION
    SELECT m.roleid, CASE member_of.via WHEN 0 THEN m.roleid ELSE member_of.via END
      FROM pg_auth_members m JOIN member_of ON m.member = member_of.oid
)
`

// reachable is true of a table c on which the current role, or a role it is a member of, holds any privilege:
// on the whole table or on one of its columns (a column grant alone is enough to read or write through the API).
// Asking per member role, rather than has_table_privilege(c.oid, …) for the current role, also counts roles a
// NOINHERIT login can only use through SET ROLE.
const reachable = `EXISTS (SELECT FROM member_of r WHERE
        has_table_privilege(r.oid, c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
        OR has_any_column_privilege(r.oid, c.oid, 'SELECT, INSERT, UPDATE, REFERENCES'))`

// grantee names aclexplode's grantee: 0 is PUBLIC.
const grantee = `CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END`

const roleQuery = memberOfCTE + `
SELECT r.rolname::text, COALESCE(pg_get_userbyid(NULLIF(m.via, 0))::text, ''), r.rolsuper, r.rolbypassrls,
       r.rolname = current_user
  FROM member_of m JOIN pg_roles r ON r.oid = m.oid
 ORDER BY 1, 2`

const schemasQuery = `SELECT n.oid, n.nspname::text, pg_get_userbyid(n.nspowner)::text,
       COALESCE(obj_description(n.oid, 'pg_namespace'), ''), ` + nspExtension + `
  FROM pg_namespace n WHERE ` + userSchema + `
 ORDER BY 2`

const tablesQuery = memberOfCTE + `
SELECT c.oid, n.nspname::text, c.relname::text, c.relkind = 'p', c.relispartition,
       ` + relExtension + `, pg_get_userbyid(c.relowner)::text,
       c.relrowsecurity, c.relforcerowsecurity, ` + reachable + `, COALESCE(obj_description(c.oid, 'pg_class'), '')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND ` + userSchema + `
 ORDER BY 2, 3`

// relationsQuery lists the other relations; indexes are their tables' and TOAST tables live in pg_toast.
const relationsQuery = memberOfCTE + `
SELECT c.oid, n.nspname::text, c.relname::text, c.relkind::text, pg_get_userbyid(c.relowner)::text,
       ` + relExtension + `, CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) ELSE '' END,
       COALESCE(c.reloptions, '{}')::text[], COALESCE(obj_description(c.oid, 'pg_class'), ''),
       (SELECT COALESCE(jsonb_object_agg(a.attname, d.description), '{}')
          FROM pg_attribute a JOIN pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass
                                                   AND d.objsubid = a.attnum
         WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), ` + reachable + `
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind NOT IN ('r', 'p', 'i', 'I', 't') AND ` + userSchema + `
 ORDER BY 2, 3`

// columnsQuery reads a stored generated column's expression, which pg_attrdef holds too, apart from defaults, and
// an identity column's sequence from its dependency rather than with pg_get_serial_sequence, which needs USAGE on
// the schema.
const columnsQuery = `SELECT a.attrelid, a.attnum, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       CASE WHEN a.attgenerated = '' THEN COALESCE(pg_get_expr(d.adbin, d.adrelid), '') ELSE '' END,
       CASE a.attidentity WHEN 'a' THEN 'ALWAYS' WHEN 'd' THEN 'BY DEFAULT' ELSE '' END,
       COALESCE((SELECT q.oid::regclass::text FROM pg_depend d JOIN pg_class q ON q.oid = d.objid
                  WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
                    AND d.refobjid = a.attrelid AND d.refobjsubid = a.attnum AND d.deptype = 'i'
                    AND q.relkind = 'S'), ''),
       CASE WHEN a.attgenerated <> '' THEN COALESCE(pg_get_expr(d.adbin, d.adrelid), '') ELSE '' END,
       COALESCE(col_description(a.attrelid, a.attnum), '')
  FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  JOIN pg_class c ON c.oid = a.attrelid` + userTable + ` AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY 1, 2`

// viewColumnsQuery reads the columns of the views (relkind v) of the user's schemas.
const viewColumnsQuery = `SELECT a.attrelid, a.attnum, a.attname::text, format_type(a.atttypid, a.atttypmod),
       COALESCE(col_description(a.attrelid, a.attnum), '')
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'v' AND ` + userSchema + ` AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY 1, 2`

// viewReadsQuery lists the table columns each view's rewrite rule depends on: the columns its query reads.
const viewReadsQuery = `SELECT DISTINCT c.oid, tn.nspname::text, tc.relname::text, a.attname::text
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_rewrite r ON r.ev_class = c.oid
  JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
   AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0 AND d.refobjid <> c.oid
  JOIN pg_class tc ON tc.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = tc.relnamespace
  JOIN pg_attribute a ON a.attrelid = tc.oid AND a.attnum = d.refobjsubid
 WHERE c.relkind = 'v' AND ` + userSchema + `
 ORDER BY 1, 2, 3, 4`

const constraintsQuery = `SELECT k.conrelid, k.conname::text, k.contype::text, pg_get_constraintdef(k.oid),
       COALESCE(pg_get_expr(k.conbin, k.conrelid), ''), COALESCE(k.conkey, '{}'), k.conindid, k.confrelid,
       COALESCE(k.confkey, '{}'), k.confdeltype::text
  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid` + userTable + `
 ORDER BY 1, 2`

// indexesQuery reads the key columns: indkey also holds INCLUDE columns, after the first indnkeyatts.
const indexesQuery = `SELECT i.indrelid, i.indexrelid, ic.relname::text, pg_get_indexdef(i.indexrelid), i.indisvalid,
       i.indisunique, i.indisprimary, (i.indkey::int2[])[0:i.indnkeyatts - 1], i.indpred IS NOT NULL,
       i.indexprs IS NOT NULL
  FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class c ON c.oid = i.indrelid` + userTable + `
 ORDER BY 1, 3`

const policiesQuery = `SELECT p.schemaname::text, p.tablename::text, p.policyname::text, p.permissive = 'PERMISSIVE',
       p.cmd, p.roles::text[], COALESCE(p.qual, ''), COALESCE(p.with_check, '')
  FROM pg_policies p JOIN pg_namespace n ON n.nspname = p.schemaname
 WHERE ` + userSchema + `
 ORDER BY 1, 2, 3`

const triggersQuery = `SELECT g.tgrelid, g.tgname::text, pg_get_triggerdef(g.oid), g.tgenabled::text,
       pn.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
  FROM pg_trigger g JOIN pg_proc p ON p.oid = g.tgfoid JOIN pg_namespace pn ON pn.oid = p.pronamespace
  JOIN pg_class c ON c.oid = g.tgrelid` + userTable + ` AND NOT g.tgisinternal
 ORDER BY 1, 2`

const rulesQuery = `SELECT r.ev_class, r.rulename::text, pg_get_ruledef(r.oid)
  FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class` + userTable + ` AND r.rulename <> '_RETURN'
 ORDER BY 1, 2`

// callsQuery lists the functions that what the tables carry depends on, but for those of pg_catalog and
// information_schema and those that belong to an extension.
const callsQuery = `WITH t AS (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind IN ('r', 'p') AND ` + userSchema + `),
o AS (
  SELECT 'pg_attrdef'::regclass AS classid, d.oid AS objid, t.oid AS rel, 'the default of column ' || a.attname AS what
    FROM pg_attrdef d JOIN t ON t.oid = d.adrelid
    JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
  UNION ALL SELECT 'pg_constraint'::regclass, k.oid, t.oid, 'constraint ' || k.conname
    FROM pg_constraint k JOIN t ON t.oid = k.conrelid
  UNION ALL SELECT 'pg_policy'::regclass, p.oid, t.oid, 'policy ' || p.polname
    FROM pg_policy p JOIN t ON t.oid = p.polrelid
  UNION ALL SELECT 'pg_trigger'::regclass, g.oid, t.oid, 'trigger ' || g.tgname
    FROM pg_trigger g JOIN t ON t.oid = g.tgrelid WHERE NOT g.tgisinternal
  UNION ALL SELECT 'pg_rewrite'::regclass, r.oid, t.oid, 'rule ' || r.rulename
    FROM pg_rewrite r JOIN t ON t.oid = r.ev_class
  UNION ALL SELECT 'pg_class'::regclass, i.indexrelid, t.oid, 'index ' || ic.relname
    FROM pg_index i JOIN t ON t.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid
)
SELECT DISTINCT o.rel, o.what, pn.nspname || '.' || p.proname,
       pn.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
  FROM o
  JOIN pg_depend d ON d.classid = o.classid AND d.objid = o.objid AND d.refclassid = 'pg_proc'::regclass
  JOIN pg_proc p ON p.oid = d.refobjid
  JOIN pg_namespace pn ON pn.oid = p.pronamespace
 WHERE pn.nspname NOT IN ('pg_catalog', 'information_schema')
   AND NOT ` + procExtension + `
 ORDER BY 1, 2, 3, 4`

// functionsQuery reads no definition of an aggregate, which pg_get_functiondef refuses.
const functionsQuery = `SELECT p.oid, p.oid::regprocedure::text, n.nspname::text, p.proname::text, p.prokind::text,
       CASE WHEN p.prokind = 'a' THEN '' ELSE pg_get_functiondef(p.oid) END,
       COALESCE(obj_description(p.oid, 'pg_proc'), ''), ` + procExtension + `,
       ARRAY(SELECT COALESCE(p.proargnames[i], '') FROM generate_series(1, COALESCE(cardinality(p.proallargtypes), p.pronargs)) i ORDER BY i),
       ARRAY(SELECT format_type(COALESCE(p.proallargtypes[i], p.proargtypes[i - 1]), NULL)
               FROM generate_series(1, COALESCE(cardinality(p.proallargtypes), p.pronargs)) i ORDER BY i),
       ARRAY(SELECT COALESCE(p.proargmodes[i]::text, 'i') FROM generate_series(1, COALESCE(cardinality(p.proallargtypes), p.pronargs)) i ORDER BY i),
       ARRAY(SELECT COALESCE(pg_get_function_arg_default(p.oid, i), '') FROM generate_series(1, COALESCE(cardinality(p.proallargtypes), p.pronargs)) i ORDER BY i),
       format_type(p.prorettype, NULL), p.proretset, COALESCE(rn.nspname::text, ''), COALESCE(rc.relname::text, ''),
       p.provolatile::text
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  JOIN pg_type rt ON rt.oid = p.prorettype
  LEFT JOIN pg_class rc ON rc.oid = rt.typrelid AND rc.relkind IN ('r', 'p', 'v')
  LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
 WHERE ` + userSchema + `
 ORDER BY 2`

// privilegesQuery explodes the ACLs of the relations, their columns, the schemas and the functions, leaving out
// the owner's own. A NULL ACL is the default one: the owner's privileges only for a relation (none for a column),
// USAGE on a function's to PUBLIC… as acldefault spells it.
const privilegesQuery = `SELECT 'class', c.oid, '', ` + grantee + `, a.privilege_type, a.is_grantable
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
       aclexplode(COALESCE(c.relacl, acldefault((CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END)::"char", c.relowner))) a
 WHERE c.relkind NOT IN ('i', 'I', 't') AND ` + userSchema + ` AND a.grantee <> c.relowner
UNION ALL
SELECT 'class', c.oid, t.attname::text, ` + grantee + `, a.privilege_type, a.is_grantable
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute t ON t.attrelid = c.oid AND t.attnum > 0 AND NOT t.attisdropped, aclexplode(t.attacl) a
 WHERE c.relkind NOT IN ('i', 'I', 't') AND ` + userSchema + ` AND a.grantee <> c.relowner
UNION ALL
SELECT 'namespace', n.oid, n.nspname::text, ` + grantee + `, a.privilege_type, a.is_grantable
  FROM pg_namespace n, aclexplode(COALESCE(n.nspacl, acldefault('n', n.nspowner))) a
 WHERE ` + userSchema + ` AND a.grantee <> n.nspowner
UNION ALL
SELECT 'proc', p.oid, p.oid::regprocedure::text, ` + grantee + `, a.privilege_type, a.is_grantable
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace,
       aclexplode(COALESCE(p.proacl, acldefault('f', p.proowner))) a
 WHERE ` + userSchema + ` AND a.grantee <> p.proowner`

// savepoint names the savepoint Read reads in inside a caller's transaction.
const savepoint = "pgtenant_introspect"

// Read reads the live catalog (see Catalog) in one batch: one round trip once the connection has prepared its
// statements (pgx prepares a batch's new statements in a round trip of their own).
//
// It reads in a read-only REPEATABLE READ transaction of its own, begun and ended in the same batch, so that every
// query sees one snapshot; when db is a pgx.Tx (or a *pgx.Conn inside a transaction), in a savepoint of the
// caller's transaction instead, rolled back in the same batch. Inside, search_path is pg_catalog alone (see
// Catalog). A failed read rolls the transaction or the savepoint back.
func Read(ctx context.Context, db Querier) (*Catalog, error) {
	_, inTx := db.(pgx.Tx)
	if conn, ok := db.(*pgx.Conn); ok && conn.PgConn().TxStatus() != 'I' {
		inTx = true // a transaction the caller began with SQL of its own
	}
	b := &pgx.Batch{}
	if inTx {
		b.Queue("SAVEPOINT " + savepoint)
	} else {
		b.BeginTx(pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	}
	r := newReader()
	b.Queue("SELECT current_schema()").QueryRow(func(row pgx.Row) error {
		var name *string
		if err := row.Scan(&name); err != nil {
			return fmt.Errorf("read the current schema: %w", err)
		}
		if name != nil {
			r.c.CurrentSchema = *name
		}
		return nil
	})
	b.Queue("SET LOCAL search_path TO pg_catalog")
	for _, q := range r.queries() {
		b.Queue(q.sql).Query(func(rows pgx.Rows) error {
			if err := q.read(rows); err != nil {
				return fmt.Errorf("read %s: %w", q.what, err)
			}
			return nil
		})
	}
	if inTx {
		b.Queue("ROLLBACK TO SAVEPOINT " + savepoint)
		b.Queue("RELEASE SAVEPOINT " + savepoint)
	} else {
		b.Queue("ROLLBACK")
	}
	br := db.SendBatch(ctx, b)
	err := br.Close()
	if tx := br.Tx(); tx != nil { // ends the transaction (and releases a pool's connection) if ROLLBACK did not run
		if rb := tx.Rollback(context.WithoutCancel(ctx)); rb != nil && !errors.Is(rb, pgx.ErrTxClosed) {
			err = errors.Join(err, rb)
		}
	}
	if err != nil {
		if inTx {
			err = errors.Join(err, rollbackSavepoint(ctx, db))
		}
		return nil, fmt.Errorf("introspect: read the catalog: %w", err)
	}
	r.finish()
	return r.c, nil
}

// rollbackSavepoint puts the caller's transaction back where it was after a failed read.
func rollbackSavepoint(ctx context.Context, db Querier) error {
	b := &pgx.Batch{}
	b.Queue("ROLLBACK TO SAVEPOINT " + savepoint)
	b.Queue("RELEASE SAVEPOINT " + savepoint)
	return db.SendBatch(context.WithoutCancel(ctx), b).Close()
}
