package verify

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"pgtenant/engine/ddl"
	"pgtenant/engine/pgtx"
	"pgtenant/schema"
)

// DB is the owner's connection CreateProbeTenants and DropProbeTenants use: a *pgx.Conn or a *pgxpool.Pool.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// ProbeTenant is a temporary tenant of the registry, made for a probe.
type ProbeTenant struct {
	ID         string
	Identifier string // pgtenant_verify_<random hex>
}

// probeCreatedBy marks the probe's tenants in pgtenant.tenants.created_by, so that they are recognisable if a
// killed process leaves them behind.
const probeCreatedBy = "pgtenant verify"

// CreateProbeTenants registers n temporary, active tenants named pgtenant_verify_<random hex>. db must be the
// owner of pgtenant.tenants. Remove them with DropProbeTenants; until then they are ordinary tenants that no
// token may act for.
func CreateProbeTenants(ctx context.Context, db DB, n int) ([]ProbeTenant, error) {
	out := make([]ProbeTenant, 0, n)
	for range n {
		t := ProbeTenant{Identifier: "pgtenant_verify_" + randomHex(6)}
		err := db.QueryRow(ctx, `INSERT INTO pgtenant.tenants (identifier, name, created_by) VALUES ($1, $2, $3)
			RETURNING id::text`, t.Identifier, "temporary tenant of pgtenant verify", probeCreatedBy).Scan(&t.ID)
		if err != nil {
			return out, fmt.Errorf("verify: create a temporary tenant: %w", err)
		}
		out = append(out, t)
	}
	return out, nil
}

// DropProbeTenants removes tenants made by CreateProbeTenants. It fails if one still has rows.
func DropProbeTenants(ctx context.Context, db DB, tenants []ProbeTenant) error {
	if len(tenants) == 0 {
		return nil
	}
	ids := make([]string, len(tenants))
	for i, t := range tenants {
		ids[i] = t.ID
	}
	_, err := db.Exec(ctx, `DELETE FROM pgtenant.tenants WHERE id = ANY ($1::uuid[]) AND created_by = $2`,
		ids, probeCreatedBy)
	if err != nil {
		return fmt.Errorf("verify: remove the temporary tenants: %w", err)
	}
	return nil
}

// probe returns CheckProbe: PostgreSQL's isolation, observed as the API would meet it. The owner registers two
// temporary tenants A and B; then, as the app login, in one transaction that is rolled back, bound as the API binds
// each request (pgtx.Bind: the tenant, the first declared role that may insert, a statement timeout):
//
//  1. with no tenant bound, no tenant table shows a row (before the probe writes, and again at the end);
//  2. a row is inserted as A and one as B into a tenant table R the probe can fill (required columns get sample
//     values by type; a table whose check constraints refuse them is skipped for the next one);
//  3. B sees exactly its own row of R and A exactly its own, and B's look-up of A's key finds nothing;
//  4. B's UPDATE and DELETE of A's row touch 0 rows;
//  5. when a tenant table T has a foreign key to R: B may insert a T row referencing B's row (the control), but
//     one referencing A's row is refused with 23503 (foreign_key_violation).
//
// The temporary tenants are removed afterwards. What it cannot prove: tables, roles and statements it did not
// try (each other table is only checked for rows with no tenant bound), and what the API does on top (CheckServer).
func (s *session) probe(ctx context.Context) Result {
	if r := s.needApp(CheckProbe); r != nil {
		return r[0]
	}
	if r := s.needAdmin(CheckProbe); r != nil {
		return r[0]
	}
	m := s.cfg.Declared
	role := writeRole(m)
	if role == nil {
		return Failed(CheckProbe, "no declared role may INSERT and SELECT, so the probe cannot write a row",
			"declare a role with privileges = [SELECT, INSERT, UPDATE, DELETE]")
	}
	tenants, err := CreateProbeTenants(ctx, s.admin, 2)
	if err == nil {
		p := &prober{m: m, role: role, a: tenants[0], b: tenants[1]}
		res := p.run(ctx, s.app) // its transaction is rolled back when it returns, so the tenants have no rows
		err = dropProbeTenants(ctx, s.admin, tenants)
		if err == nil {
			return res
		}
		res.OK = false
		res.Detail = strings.TrimPrefix(res.Detail+"; ", "; ") + err.Error()
		res.Fix = strings.TrimSpace(res.Fix + " remove them: DELETE FROM pgtenant.tenants WHERE created_by = " +
			schema.QuoteLiteral(probeCreatedBy) + ";")
		return res
	}
	return failedQuery(CheckProbe, errors.Join(err, dropProbeTenants(ctx, s.admin, tenants)))
}

// dropProbeTenants removes the tenants even when ctx has ended.
func dropProbeTenants(ctx context.Context, db DB, tenants []ProbeTenant) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return DropProbeTenants(cctx, db, tenants)
}

// writeRole is the first declared role that may insert and select.
func writeRole(m *schema.Model) *schema.Role {
	for _, r := range m.Roles {
		if r.Has(schema.Insert) && r.Has(schema.Select) {
			return r
		}
	}
	return nil
}

// prober runs the probe's steps in one transaction; each step that may fail runs in a savepoint.
type prober struct {
	m        *schema.Model
	role     *schema.Role
	a, b     ProbeTenant
	tx       pgx.Tx
	problems []problem
	seen     []string // what was proven, for an OK detail
}

func (p *prober) run(ctx context.Context, app *pgx.Conn) Result {
	tx, err := app.Begin(ctx)
	if err != nil {
		return failedQuery(CheckProbe, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	p.tx = tx
	if err := pgtx.Bind(ctx, tx, p.scope("")); err != nil {
		return Failed(CheckProbe, fmt.Sprintf("the app login cannot take role %s: %v", p.role.Name, err),
			fmt.Sprintf("GRANT %s TO %s;", ddl.Ident(p.role.Name), ddl.Ident(app.Config().User)))
	}
	if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '5s'"); err != nil {
		return failedQuery(CheckProbe, err)
	}
	p.noTenantSeesNothing(ctx, "with no tenant bound")

	r, rows, err := p.insertPair(ctx)
	if err != nil {
		return Failed(CheckProbe, "the probe could not insert a row into any tenant table as the app role: "+
			err.Error(), "")
	}
	p.seen = append(p.seen, fmt.Sprintf("tenants %s and %s on %s as role %s", p.a.Identifier, p.b.Identifier,
		r.Name, p.role.Name))
	p.seesOwnOnly(ctx, r, rows)
	p.crossWrites(ctx, r, rows)
	p.crossReference(ctx, r, rows)
	if err := pgtx.Bind(ctx, tx, p.scope("")); err == nil {
		p.noTenantSeesNothing(ctx, "with no tenant bound after both wrote")
	}
	if len(p.problems) > 0 {
		return result(CheckProbe, "", p.problems)
	}
	return Passed(CheckProbe, strings.Join(p.seen, "; "))
}

// savepoint runs fn in a savepoint, rolled back when fn fails or keep is false.
func (p *prober) savepoint(ctx context.Context, keep bool, fn func(tx pgx.Tx) error) error {
	sp, err := p.tx.Begin(ctx)
	if err != nil {
		return err
	}
	if err := fn(sp); err != nil {
		_ = sp.Rollback(ctx)
		return err
	}
	if !keep {
		return sp.Rollback(ctx)
	}
	return sp.Commit(ctx)
}

// scope is the binding of the probe's steps: tenant (a UUID, "" for none), the probe's role, and a statement
// timeout that ends a step stuck behind a lock.
func (p *prober) scope(tenant string) pgtx.Scope {
	return pgtx.Scope{Setting: p.m.Tenancy.Setting, Tenant: tenant, Role: p.role.Name, Timeout: 20 * time.Second,
		Citus: p.m.Tenancy.Citus()}
}

func (p *prober) setTenant(ctx context.Context, tx pgx.Tx, t ProbeTenant) error {
	return pgtx.Bind(ctx, tx, p.scope(t.ID))
}

// noTenantSeesNothing checks that no declared tenant table shows a row.
func (p *prober) noTenantSeesNothing(ctx context.Context, when string) {
	for _, t := range tenantTables(p.m) {
		var any bool
		err := p.savepoint(ctx, false, func(tx pgx.Tx) error {
			// SELECT 1, not an empty select list, which Citus cannot plan on a distributed table.
			return tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+qualified(t.Name)+")").Scan(&any)
		})
		switch {
		case err != nil:
			p.problems = append(p.problems, problem{fmt.Sprintf("%s, %s could not be read: %v", when,
				qualified(t.Name), err), ""})
		case any:
			p.problems = append(p.problems, problem{fmt.Sprintf("%s, %s shows rows", when, qualified(t.Name)),
				"restore the policies: pgtenant verify lists what differs; pgtenant rls enable"})
		}
	}
	p.seen = append(p.seen, when+" no tenant table shows a row")
}

// row is a row the probe inserted: its declared columns as text (nil for NULL).
type row map[string]*string

// insertPair inserts a row as A and one as B into the first tenant table that takes them, trying first the
// tables another tenant table references (so that step 5 can run).
func (p *prober) insertPair(ctx context.Context) (*schema.Table, [2]row, error) {
	var last error
	for _, r := range p.candidates() {
		var rows [2]row
		err := p.savepoint(ctx, true, func(tx pgx.Tx) error {
			for i, t := range []ProbeTenant{p.a, p.b} {
				if err := p.setTenant(ctx, tx, t); err != nil {
					return err
				}
				got, err := p.insert(ctx, tx, r, nil)
				if err != nil {
					return err
				}
				rows[i] = got
			}
			return nil
		})
		if err == nil {
			return r, rows, nil
		}
		last = fmt.Errorf("%s: %w", qualified(r.Name), err)
	}
	if last == nil {
		last = errors.New("no tenant table has only columns the probe can fill")
	}
	return nil, [2]row{}, last
}

// candidates are the tenant tables the probe can fill without a foreign key value, those referenced by another
// tenant table first.
func (p *prober) candidates() []*schema.Table {
	var first, rest []*schema.Table
	for _, t := range tenantTables(p.m) {
		if _, _, ok := fill(t, nil); !ok {
			continue
		}
		if len(p.referencing(t)) > 0 {
			first = append(first, t)
		} else {
			rest = append(rest, t)
		}
	}
	return append(first, rest...)
}

// referencing returns the tenant tables with a foreign key to r that the probe can fill given that key.
func (p *prober) referencing(r *schema.Table) []fkFrom {
	var out []fkFrom
	for _, t := range tenantTables(p.m) {
		for _, fk := range t.ForeignKeys {
			if fk.RefTable != r.Name {
				continue
			}
			given := map[string]string{}
			for _, c := range fk.Columns {
				given[c] = "" // a placeholder: fill only needs to know it is given
			}
			if _, _, ok := fill(t, given); ok {
				out = append(out, fkFrom{t, fk})
			}
		}
	}
	return out
}

type fkFrom struct {
	t  *schema.Table
	fk *schema.ForeignKey
}

// insert inserts one row into t with sample values, given values for some columns, and returns it. The values go
// as text in a simple-protocol query, so that PostgreSQL types them as the columns.
func (p *prober) insert(ctx context.Context, tx pgx.Tx, t *schema.Table, given map[string]string) (row, error) {
	cols, vals, ok := fill(t, given)
	if !ok {
		return nil, errors.New("has columns the probe cannot fill")
	}
	var returning []string
	for _, c := range t.Columns {
		returning = append(returning, ddl.Ident(c.Name)+"::text")
	}
	sql := "INSERT INTO " + qualified(t.Name) + " DEFAULT VALUES"
	args := []any{pgx.QueryExecModeSimpleProtocol}
	if len(cols) > 0 {
		ph := make([]string, len(cols))
		for i, v := range vals {
			ph[i] = fmt.Sprintf("$%d", i+1)
			args = append(args, v)
		}
		sql = fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", qualified(t.Name), ddl.Idents(cols), strings.Join(ph, ", "))
	}
	// The casts run outside the INSERT: Citus refuses a RETURNING clause with functions that are not IMMUTABLE
	// (timestamptz::text depends on the session's TimeZone).
	sql = "WITH probe_row AS (" + sql + " RETURNING *) SELECT " + strings.Join(returning, ", ") + " FROM probe_row"
	vs := make([]*string, len(t.Columns))
	scans := make([]any, len(vs))
	for i := range vs {
		scans[i] = &vs[i]
	}
	if err := tx.QueryRow(ctx, sql, args...).Scan(scans...); err != nil {
		return nil, err
	}
	out := row{}
	for i, c := range t.Columns {
		out[c.Name] = vs[i]
	}
	return out, nil
}

// keyMatch is "c1 = $1 AND c2 = $2" over t's primary key, with r's values as arguments.
func keyMatch(t *schema.Table, r row) (string, []any) {
	var conds []string
	args := []any{pgx.QueryExecModeSimpleProtocol}
	for i, c := range t.PrimaryKey.Columns {
		conds = append(conds, fmt.Sprintf("%s = $%d", ddl.Ident(c), i+1))
		args = append(args, deref(r[c]))
	}
	return strings.Join(conds, " AND "), args
}

func keyText(t *schema.Table, r row) string {
	var parts []string
	for _, c := range t.PrimaryKey.Columns {
		parts = append(parts, deref(r[c]))
	}
	return strings.Join(parts, ",")
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// seesOwnOnly: each tenant sees exactly its own row of r, and B does not find A's key.
func (p *prober) seesOwnOnly(ctx context.Context, r *schema.Table, rows [2]row) {
	var keys []string
	for _, c := range r.PrimaryKey.Columns {
		keys = append(keys, ddl.Ident(c)+"::text")
	}
	list := fmt.Sprintf("SELECT concat_ws(',', %s) FROM %s LIMIT 3", strings.Join(keys, ", "), qualified(r.Name))
	for i, t := range []ProbeTenant{p.a, p.b} {
		var seen []string
		err := p.savepoint(ctx, true, func(tx pgx.Tx) error {
			if err := p.setTenant(ctx, tx, t); err != nil {
				return err
			}
			got, err := tx.Query(ctx, list)
			if err != nil {
				return err
			}
			seen, err = pgx.CollectRows(got, pgx.RowTo[string])
			return err
		})
		switch want := keyText(r, rows[i]); {
		case err != nil:
			p.problems = append(p.problems, problem{fmt.Sprintf("tenant %s could not read %s: %v", t.Identifier,
				qualified(r.Name), err), ""})
		case len(seen) != 1 || seen[0] != want:
			p.problems = append(p.problems, problem{fmt.Sprintf("tenant %s, which has one row in %s, sees %d "+
				"(up to 3 read)", t.Identifier, qualified(r.Name), len(seen)),
				"restore row-level security and the policies (see the other checks)"})
		}
	}
	where, args := keyMatch(r, rows[0])
	var n int
	err := p.savepoint(ctx, true, func(tx pgx.Tx) error {
		if err := p.setTenant(ctx, tx, p.b); err != nil {
			return err
		}
		return tx.QueryRow(ctx, "SELECT count(*) FROM "+qualified(r.Name)+" WHERE "+where, args...).Scan(&n)
	})
	if err != nil || n != 0 {
		p.problems = append(p.problems, problem{fmt.Sprintf("tenant %s finds %d row(s) by the key of %s's row "+
			"(error: %v)", p.b.Identifier, n, p.a.Identifier, err), ""})
	}
	p.seen = append(p.seen, "each tenant sees only its own row")
}

// crossWrites: B's UPDATE and DELETE of A's row touch nothing.
func (p *prober) crossWrites(ctx context.Context, r *schema.Table, rows [2]row) {
	where, args := keyMatch(r, rows[0])
	pk := ddl.Ident(r.PrimaryKey.Columns[0])
	stmts := map[schema.Privilege]string{
		schema.Update: fmt.Sprintf("UPDATE %s SET %s = %s WHERE %s", qualified(r.Name), pk, pk, where),
		schema.Delete: fmt.Sprintf("DELETE FROM %s WHERE %s", qualified(r.Name), where),
	}
	for _, priv := range []schema.Privilege{schema.Update, schema.Delete} {
		if !p.role.Has(priv) {
			continue
		}
		var touched int64
		err := p.savepoint(ctx, false, func(tx pgx.Tx) error {
			if err := p.setTenant(ctx, tx, p.b); err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, stmts[priv], args...)
			touched = tag.RowsAffected()
			return err
		})
		switch {
		case err != nil:
			p.problems = append(p.problems, problem{fmt.Sprintf("tenant %s's %s of %s failed: %v", p.b.Identifier,
				priv, qualified(r.Name), err), ""})
		case touched != 0:
			p.problems = append(p.problems, problem{fmt.Sprintf("tenant %s's %s touched %d row(s) of tenant %s "+
				"in %s", p.b.Identifier, priv, touched, p.a.Identifier, qualified(r.Name)),
				"restore row-level security and the policies (see the other checks)"})
		}
	}
	p.seen = append(p.seen, "an UPDATE and a DELETE across tenants touch 0 rows")
}

// crossReference: a row of B may reference B's row of r but not A's.
func (p *prober) crossReference(ctx context.Context, r *schema.Table, rows [2]row) {
	refs := p.referencing(r)
	if len(refs) == 0 {
		p.seen = append(p.seen, "no foreign key between tenant tables could be probed")
		return
	}
	given := func(fk *schema.ForeignKey, target row) map[string]string {
		out := map[string]string{}
		for i, c := range fk.Columns {
			out[c] = deref(target[fk.RefColumns[i]])
		}
		return out
	}
	var last error
	for _, ref := range refs {
		// The control: B's row may reference B's row. Rolled back, so that it cannot collide with the next insert.
		err := p.savepoint(ctx, false, func(tx pgx.Tx) error {
			if err := p.setTenant(ctx, tx, p.b); err != nil {
				return err
			}
			_, err := p.insert(ctx, tx, ref.t, given(ref.fk, rows[1]))
			return err
		})
		if err != nil {
			last = fmt.Errorf("%s: %w", qualified(ref.t.Name), err)
			continue
		}
		err = p.savepoint(ctx, false, func(tx pgx.Tx) error {
			if err := p.setTenant(ctx, tx, p.b); err != nil {
				return err
			}
			_, err := p.insert(ctx, tx, ref.t, given(ref.fk, rows[0]))
			return err
		})
		switch code := pgCode(err); {
		case err == nil:
			p.problems = append(p.problems, problem{fmt.Sprintf("tenant %s inserted a row of %s that references "+
				"tenant %s's row of %s through %s", p.b.Identifier, qualified(ref.t.Name), p.a.Identifier,
				qualified(r.Name), ref.fk.Name), "lead the foreign key with the tenant column on both sides (see " +
				CheckIndexes + ")"})
		case code != "23503":
			p.problems = append(p.problems, problem{fmt.Sprintf("a reference from tenant %s's row of %s to tenant "+
				"%s's row failed otherwise than as a foreign key violation: %v", p.b.Identifier,
				qualified(ref.t.Name), p.a.Identifier, err), ""})
		default:
			p.seen = append(p.seen, fmt.Sprintf("%s refuses a reference across tenants (23503)", ref.fk.Name))
		}
		return
	}
	p.seen = append(p.seen, fmt.Sprintf("no foreign key between tenant tables could be probed (%v)", last))
}

// fill returns the columns of t to insert and their values: given ones, then a sample value for every NOT NULL
// column without a default. ok is false when a required column can get none (a foreign key column not given, or
// a type without a sample value).
func fill(t *schema.Table, given map[string]string) (cols, vals []string, ok bool) {
	inForeignKey := map[string]bool{}
	for _, fk := range t.ForeignKeys {
		for _, c := range fk.Columns {
			inForeignKey[c] = true
		}
	}
	for _, c := range t.Columns {
		if v, isGiven := given[c.Name]; isGiven {
			cols, vals = append(cols, c.Name), append(vals, v)
			continue
		}
		if c.Null || c.Default != "" {
			continue
		}
		if inForeignKey[c.Name] {
			return nil, nil, false
		}
		v, known := sampleValue(c.Type)
		if !known {
			return nil, nil, false
		}
		cols, vals = append(cols, c.Name), append(vals, v)
	}
	return cols, vals, true
}

var typeModifiers = regexp.MustCompile(`\([^)]*\)`)

// sampleValue is a value of type typ (as declared or as format_type spells it) that fits its modifiers.
func sampleValue(typ string) (string, bool) {
	t := strings.ToLower(strings.TrimSpace(typ))
	if strings.HasSuffix(t, "]") {
		return "{}", true
	}
	length := 0
	if m := typeModifiers.FindString(t); m != "" {
		fmt.Sscanf(strings.Trim(m, "()"), "%d", &length)
	}
	base := strings.Join(strings.Fields(typeModifiers.ReplaceAllString(strings.TrimPrefix(t, "pg_catalog."), "")), " ")
	switch base {
	case "text", "varchar", "character varying", "char", "character", "bpchar", "citext", "name":
		v := "pgtv"
		if length > 0 && length < len(v) {
			v = v[:length]
		}
		return v, true
	case "smallint", "int2", "integer", "int", "int4", "bigint", "int8", "numeric", "decimal", "real", "float4",
		"double precision", "float8", "double_precision", "float":
		return "1", true
	case "boolean", "bool":
		return "false", true
	case "uuid":
		b := randomHex(16)
		return b[:8] + "-" + b[8:12] + "-4" + b[13:16] + "-8" + b[17:20] + "-" + b[20:], true
	case "date":
		return "2000-01-01", true
	case "timestamp", "timestamptz", "timestamp with time zone", "timestamp without time zone":
		return "2000-01-01 00:00:00+00", true
	case "time", "timetz", "time with time zone", "time without time zone":
		return "00:00:00", true
	case "interval":
		return "1 day", true
	case "json", "jsonb":
		return "{}", true
	case "bytea":
		return `\x00`, true
	case "inet", "cidr":
		return "127.0.0.1", true
	}
	return "", false
}
