package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/hashicorp/hcl/v2"

	"pgtenant/engine/migrate"
	"pgtenant/internal/pglocal"
	"pgtenant/schema"
)

func cmdValidate(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "validate", "[-json] [-offline]")
	asJSON := fs.Bool("json", false, "print diagnostics in Terraform's JSON layout on stdout")
	offline := fs.Bool("offline", false, "skip checking the SQL fragments on a scratch database")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(fs, e, "unexpected argument %q (set POLICIES_FILE to validate another file)", fs.Arg(0))
	}
	model, files, diags := schema.Load(e.cfg.PoliciesFile)
	if !diags.HasErrors() && !*offline {
		diags = append(diags, checkSQL(ctx, e.cfg, model)...)
	}
	if *asJSON {
		if err := writeJSONDiagnostics(e.stdout, files, diags); err != nil {
			return fail(e, "validate", err)
		}
	} else {
		writeDiagnostics(e.stderr, files, diags)
		if !diags.HasErrors() {
			fmt.Fprintf(e.stdout, "%s: the declaration is valid.\n", e.cfg.PoliciesFile)
		}
	}
	if diags.HasErrors() {
		return exitFailure
	}
	return exitOK
}

// checkSQL checks the declaration's SQL fragments by applying the plan to a scratch database: on DEV_DATABASE_URL
// when it is set, else on a private throwaway server. With neither, it returns a warning: the static checks alone
// do not make a declaration fail.
func checkSQL(ctx context.Context, cfg Config, m *schema.Model) hcl.Diagnostics {
	if cfg.DevDatabaseURL != "" {
		diags, err := migrate.CheckSQL(ctx, cfg.DevDatabaseURL, m)
		if err != nil {
			return notChecked(hcl.DiagError, fmt.Sprintf("Checking on DEV_DATABASE_URL failed: %v.", err))
		}
		return diags
	}
	diags, err := checkOnThrowawayServer(ctx, m)
	if errors.Is(err, pglocal.ErrNoBinaries) {
		return notChecked(hcl.DiagWarning, "No PostgreSQL to check them on: install the PostgreSQL server "+
			"(apt-get install postgresql-15), or set DEV_DATABASE_URL to a server where a throwaway database may "+
			"be created.")
	}
	if err != nil {
		// diags stand if the check ran and only stopping the server failed.
		return append(diags, notChecked(hcl.DiagError, fmt.Sprintf("The throwaway PostgreSQL server failed: %v. "+
			"Set DEV_DATABASE_URL to a server to check on instead.", err))...)
	}
	return diags
}

// checkOnThrowawayServer checks m on a private PostgreSQL server made for it (withThrowawayServer). Returns an
// error wrapping pglocal.ErrNoBinaries when PostgreSQL is not installed.
func checkOnThrowawayServer(ctx context.Context, m *schema.Model) (diags hcl.Diagnostics, err error) {
	err = withThrowawayServer(ctx, "pgtenant-validate-", func(serverURL string) error {
		var cerr error
		diags, cerr = migrate.CheckSQL(ctx, serverURL, m)
		return cerr
	})
	return diags, err
}

// withThrowawayServer starts a private PostgreSQL server in a temporary directory named after prefix, calls fn
// with its superuser's URL, and stops and removes the server, also when ctx is cancelled. Returns an error
// wrapping pglocal.ErrNoBinaries when PostgreSQL is not installed.
func withThrowawayServer(ctx context.Context, prefix string, fn func(serverURL string) error) (err error) {
	bin, err := pglocal.BinDir()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp(throwawayParent(), prefix)
	if err != nil {
		return err
	}
	defer func() {
		// Stop on a fresh context, so that an interrupted command does not leave a server running. Stop needs
		// only Dir and BinDir, and stops a server that Start left half-started too.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		srv := &pglocal.Server{Dir: dir, BinDir: bin}
		if serr := srv.Stop(sctx); serr != nil {
			err = errors.Join(err, fmt.Errorf("%w; remove %s once it is stopped", serr, dir))
			return // never remove the data directory of a running server
		}
		if rerr := os.RemoveAll(dir); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}()
	srv, _, err := pglocal.Start(ctx, pglocal.Options{Dir: dir, Durable: false})
	if err != nil {
		return err
	}
	return fn(srv.URL("postgres"))
}

// throwawayParent is where the throwaway server goes: Linux's in-memory /dev/shm when it has room, which more
// than halves the time validate takes (initdb and CREATE DATABASE are most of it), else the temporary directory.
// Docker gives a container 64 MB of /dev/shm by default, too little for a cluster.
func throwawayParent() string {
	var st syscall.Statfs_t
	if err := syscall.Statfs("/dev/shm", &st); err == nil && st.Bavail*uint64(st.Bsize) >= 256<<20 {
		return "/dev/shm"
	}
	return ""
}

// notChecked says that the SQL fragments were not checked, and why.
func notChecked(severity hcl.DiagnosticSeverity, why string) hcl.Diagnostics {
	return hcl.Diagnostics{{
		Severity: severity,
		Summary:  "SQL not checked",
		Detail: "The SQL fragments of the declaration (using, check, where, sql()) were not checked on " +
			"PostgreSQL. " + why + " -offline skips this check.",
	}}
}
