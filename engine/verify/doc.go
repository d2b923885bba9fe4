// Package verify runs the production checklist against a live deployment: the checks `pgtenant verify` prints.
//
// Input is a Config: the app login's URL (DATABASE_URL), the owner's URL (ADMIN_DATABASE_URL, for the catalog,
// the migrations and the temporary tenants of the isolation probe), the declaration, the migrations directory and
// the two production settings. Output is one Result per check, in a fixed order, each either OK or saying what is
// wrong and the one-line fix. Run never stops early: a check that cannot run (a connection that fails) is a
// failed Result, and the others still run.
//
// The checks read the catalog with introspect.Read, once per connection: as the app login (the role and
// row-level security checks) and as the owner (the rest). Only the policy comparison reads pg_policies itself, in
// its own transaction, on the temporary copies of the tables it creates.
//
// What each check proves, and what it cannot, is written on its function. In short:
//
//   - the app login is no superuser, has no BYPASSRLS, owns no table (introspect.Check) and cannot take a role
//     that is or has either; the server refuses it a wrong password;
//   - REQUIRE_TENANT is on and DEFAULT_TENANT_ID empty;
//   - every declared table has row-level security enabled and forced, and so does every other table the login
//     can reach; the policies are exactly those engine/ddl generates and policies.hcl declares, compared as
//     PostgreSQL prints them; no PERMISSIVE policy with USING (true) or WITH CHECK (true) is on a tenant table;
//   - the tables the migrations create carry only the triggers and rules the migrations create, and call no
//     function outside pg_catalog and extensions that the migrations did not create (a hand-made trigger that
//     sets the tenant setting moves a transaction to another tenant);
//   - a live isolation probe, as the login in the role the API uses, in a transaction that is rolled back;
//   - the tenant column leads every index and every foreign key between tenant tables;
//   - the server's minor version has none of the row-level security flaws in Flaws;
//   - every migration is applied, none dirty, and the tables match policies.hcl.
//
// verify runs SQL of the declaration in one place only, the policy comparison, and only once
// schema.CheckFragments accepts every fragment; each statement goes alone in the extended protocol.
//
// The drills (RunDrills, slower: `pgtenant verify --drills`) rehearse a recovery on scratch databases that
// Config.Scratch provides: one tenant backed up, restored and compared row for row (engine/backup), and every down
// migration applied and the migrations applied again, the schema compared at each step (engine/drift).
//
// The HTTP probes of a running server (CheckServer, CheckMonitoring) live in engine/verify/httpcheck, which may speak
// HTTP: verify must not import net/http (nor engine/tenant or engine/registry, which do) or engine/httpapi. It
// imports pgx, schema, engine/introspect, engine/migrate, engine/ddl, engine/backup, engine/pgtx and engine/drift.
package verify
