package schema

import (
	"fmt"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// A fragment runs inside the statements of every tenant's requests (a policy on every read, a default on every
// insert), as whoever makes the request. So it may compute, but not act: it may not change the session (the
// tenant setting above all), signal other sessions or the server, read or write the server's files, reach
// another database, run SQL given to it as text, wait, lock, notify, or write rows. The lists below name the
// functions of PostgreSQL and its contrib modules that do; a call of one is refused whatever schema qualifies
// it and however it is spelt (PostgreSQL folds unquoted names to lower case; a quoted name in other cases is
// refused too).

// forbiddenFunctions maps a function name to why a fragment may not call it.
var forbiddenFunctions = map[string]string{
	"set_config":                     "changes a setting of the session, such as the tenant setting",
	"pg_show_all_settings":           "reads the session's settings, the tenant setting among them",
	"pg_terminate_backend":           "ends another session",
	"pg_cancel_backend":              "cancels another session's statement",
	"pg_reload_conf":                 "reloads the server's configuration",
	"pg_rotate_logfile":              "acts on the server",
	"pg_promote":                     "acts on the server",
	"pg_switch_wal":                  "acts on the server",
	"pg_create_restore_point":        "acts on the server",
	"pg_backup_start":                "acts on the server",
	"pg_backup_stop":                 "acts on the server",
	"pg_start_backup":                "acts on the server",
	"pg_stop_backup":                 "acts on the server",
	"pg_wal_replay_pause":            "acts on the server",
	"pg_wal_replay_resume":           "acts on the server",
	"pg_log_backend_memory_contexts": "acts on another session",
	"pg_logical_emit_message":        "writes to the write-ahead log",
	"pg_import_system_collations":    "creates objects",
	"pg_drop_replication_slot":       "acts on the server's replication",
	"pg_replication_slot_advance":    "acts on the server's replication",
	"pg_stat_file":                   "reads the server's files",
	"pg_current_logfile":             "reads the server's files",
	"pg_logdir_ls":                   "reads the server's files",
	"loread":                         "reads large objects",
	"lowrite":                        "writes large objects",
	"pg_notify":                      "sends a notification to every listening session",
	"pg_sleep":                       "waits, holding up every statement that runs it",
	"pg_sleep_for":                   "waits, holding up every statement that runs it",
	"pg_sleep_until":                 "waits, holding up every statement that runs it",
	"setval":                         "changes a sequence",
	"ts_stat":                        "runs SQL given to it as text",
}

// forbiddenPrefixes are families of functions, by how their names start (or, with a leading '*', hold).
var forbiddenPrefixes = []struct{ prefix, why string }{
	{"dblink", "reaches another database"},
	{"pg_read_", "reads the server's files"},
	{"pg_ls_", "reads the server's directories"},
	{"pg_file_", "writes the server's files"},
	{"lo_", "reads or writes large objects and the server's files"},
	{"pg_advisory_", "takes a lock that outlives the statement"},
	{"pg_try_advisory_", "takes a lock that outlives the statement"},
	{"pg_stat_reset", "resets the server's statistics"},
	{"pg_create_", "acts on the server"},
	{"pg_copy_", "acts on the server's replication"},
	{"pg_replication_origin_", "acts on the server's replication"},
	{"pg_logical_slot_", "acts on the server's replication"},
	{"pg_background", "runs SQL in another session"},
	{"*_to_xml", "runs SQL given to it as text, or reads whole tables"},
}

// forbiddenWhy says why a fragment may not call the function name; "" when it may.
func forbiddenWhy(name string) string {
	name = strings.ToLower(name)
	if why, ok := forbiddenFunctions[name]; ok {
		return why
	}
	for _, p := range forbiddenPrefixes {
		if inner, ok := strings.CutPrefix(p.prefix, "*"); ok && strings.Contains(name, inner) ||
			strings.HasPrefix(name, p.prefix) {
			return p.why
		}
	}
	return ""
}

// Forbidden returns a problem for every call in the fragment of a function it may not call (see
// forbiddenFunctions), for current_setting of the tenant setting (setting) or of a name that is not a string
// constant, for a read of pg_settings, and for every row write or row lock (a data-modifying WITH, FOR UPDATE)
// and SELECT … INTO in it.
func (f *Fragment) Forbidden(setting string) []*FragmentError {
	var out []*FragmentError
	at := func(loc int32, summary, format string, args ...any) {
		out = append(out, problemAt(f.Text, f.offset(loc), summary, fmt.Sprintf(format, args...)))
	}
	walk(f.node.ProtoReflect(), func(m protoreflect.Message) {
		switch n := m.Interface().(type) {
		case *pg.FuncCall:
			name := funcName(n)
			if why := forbiddenWhy(name); why != "" {
				at(n.Location, forbiddenFunction, "%s() %s; a fragment of the declaration may not call it.", name, why)
			} else if strings.EqualFold(name, "current_setting") {
				currentSetting(n, setting, at)
			}
		case *pg.RangeVar:
			if strings.EqualFold(n.Relname, "pg_settings") {
				at(n.Location, forbiddenFunction, "pg_settings shows the session's settings, the tenant setting "+
					"among them; a fragment of the declaration may not read it.")
			}
		case *pg.InsertStmt, *pg.UpdateStmt, *pg.DeleteStmt, *pg.MergeStmt:
			at(-1, invalidFragment, "A fragment may not write rows (a data-modifying WITH).")
		case *pg.LockingClause:
			at(-1, invalidFragment, "A fragment may not lock rows (FOR UPDATE, FOR SHARE).")
		case *pg.IntoClause:
			at(-1, invalidFragment, "A fragment may not create a table (SELECT … INTO).")
		}
	})
	return out
}

// currentSetting refuses a current_setting() call that reads, or may read, the tenant setting: the generated
// tenant_isolation policy reads it, and a fragment that did could tell tenants apart in ways the generator does
// not review. The name is compared as PostgreSQL compares setting names (letter case does not count), with any
// double quotes and surrounding spaces taken out, so that no spelling of it slips through.
func currentSetting(n *pg.FuncCall, setting string, at func(int32, string, string, ...any)) {
	if len(n.Args) == 0 {
		return
	}
	c := n.Args[0].GetAConst()
	if c == nil || c.GetSval() == nil {
		at(n.Location, forbiddenFunction, "current_setting() of a name that is not a string constant could read "+
			"the tenant setting %s; name the setting as a string constant.", setting)
		return
	}
	norm := func(s string) string { return strings.ToLower(strings.TrimSpace(strings.ReplaceAll(s, `"`, ""))) }
	if norm(c.GetSval().Sval) == norm(setting) {
		at(n.Location, forbiddenFunction, "current_setting(%s) reads the tenant setting, which only the generated "+
			"tenant_isolation policy may read: it already limits every table to the current tenant's rows.",
			QuoteLiteral(c.GetSval().Sval))
	}
}

// funcName is the name of the called function, without its schema.
func funcName(n *pg.FuncCall) string {
	if len(n.Funcname) == 0 {
		return ""
	}
	return n.Funcname[len(n.Funcname)-1].GetString_().GetSval()
}

// SubSelects returns a problem for every sub-select in the fragment: Citus refuses a policy that has one ("Subqueries
// are not supported in policies on distributed tables"), so a declaration for Citus may not.
func (f *Fragment) SubSelects() []*FragmentError {
	var out []*FragmentError
	walk(f.node.ProtoReflect(), func(m protoreflect.Message) {
		if n, ok := m.Interface().(*pg.SubLink); ok {
			out = append(out, problemAt(f.Text, f.offset(n.Location), "Sub-select in a Citus policy",
				"Citus refuses sub-selects in the policies of distributed tables (scale_out = \"citus\"); "+
					"put the lookup in a SQL function and call it, or compare columns of the row itself."))
		}
	})
	return out
}
