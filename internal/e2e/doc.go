// Package e2e holds the end-to-end test that drives a running pgtenant
// server with @supabase/postgrest-js (package.json pins the version; `make
// deps` installs it with npm ci). It has no code of its own.
package e2e
