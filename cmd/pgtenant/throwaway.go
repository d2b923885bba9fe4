package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"pgtenant/internal/pglocal"
)

// withThrowawayServer starts a private PostgreSQL server in a new directory under root (Config.scratchDir)
// named after prefix, calls fn with its superuser's URL, and stops and removes the server, also when ctx is
// cancelled. Returns an error wrapping pglocal.ErrNoBinaries when PostgreSQL is not installed.
func withThrowawayServer(ctx context.Context, root, prefix string, fn func(serverURL string) error) (err error) {
	bin, err := pglocal.BinDir()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp(root, prefix)
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

// scratchServer is where scratch databases are made for verify's drills: on DEV_DATABASE_URL when it is set,
// else on a private throwaway server (withThrowawayServer) named after prefix, one for all the drills.
func scratchServer(cfg Config, prefix string) func(ctx context.Context, fn func(serverURL string) error) error {
	return func(ctx context.Context, fn func(serverURL string) error) error {
		if cfg.DevDatabaseURL != "" {
			return fn(cfg.DevDatabaseURL)
		}
		err := withThrowawayServer(ctx, cfg.scratchDir(), prefix, fn)
		if errors.Is(err, pglocal.ErrNoBinaries) {
			return fmt.Errorf("DEV_DATABASE_URL is not set and %w", err)
		}
		return err
	}
}
