package main

import (
	"context"
	"testing"
	"time"

	"pgtenant/internal/pglocal"
)

// stopDev stops the private server a test's `dev` started, by its data dir.
func stopDev(t *testing.T, dir string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, _, err := pglocal.Start(ctx, pglocal.Options{Dir: dir, Durable: true})
	if err != nil {
		t.Logf("stop dev server: %v", err)
		return
	}
	if err := srv.Stop(ctx); err != nil {
		t.Logf("stop dev server: %v", err)
	}
}
