// Package pgtest gives each test its own real PostgreSQL database.
//
// New returns a fresh database cloned (CREATE DATABASE … TEMPLATE) from a template that has the repository's
// migrations/ applied; NewEmpty returns a fresh empty one. Both are dropped when the test ends. Tests talk to the
// database through roles that are neither superuser nor BYPASSRLS, or row-level security would pass without being
// tested:
//
//   - DB.Owner is pgtest_owner (LOGIN NOSUPERUSER NOBYPASSRLS CREATEROLE): it owns the database and applied the
//     migrations, as the deploy role does. CREATEROLE because the migrations create the app roles if missing.
//   - DB.Login(t, "app") is a fresh LOGIN role that owns nothing and is granted the named roles: the role to test
//     the application's behaviour with.
//   - DB.AdminURL is the superuser, for setup and inspection only.
//
// # Which server
//
// With TEST_DATABASE_URL (a superuser postgres:// URL) set, that cluster is used; several test binaries may share
// it, since roles and templates are created under a pg_advisory_lock and the template's name carries a hash of
// migrations/. Otherwise each test binary starts one throwaway server with internal/pglocal from the local
// PostgreSQL binaries, in a directory under /dev/shm (memory; else os.TempDir()). Without binaries the tests skip, or fail when
// PGTEST_REQUIRED=1 (as `make test` and CI set it).
//
// Every package that uses pgtest must stop that server after its tests, from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Run(m) }
//
// New and NewEmpty fail the test when Run is not in charge. A server left behind by a test binary that died
// (a panic, -timeout) is stopped, with pg_ctl on its own data directory, by the next test binary that starts one.
//
// A test that stops PostgreSQL (an outage) must not stop the server every other test uses: NewPrivate starts a
// server for that test alone, from the local binaries even when TEST_DATABASE_URL is set, with one migrated
// database, and Private.Stop, StopImmediate and Start take it down and bring it back on the same port. It is
// removed when the test ends (or swept, like the binary's own, if the binary dies).
//
// On a shared cluster, databases named pgtest_* are left behind only by binaries that died, and templates named
// pgtest_tpl_* by earlier versions of migrations/; both may be dropped at any time no test runs.
package pgtest
