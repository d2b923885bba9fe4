package backup_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/backup"
)

// heapProbe samples the heap in use every MiB that passes through it and keeps the peak.
type heapProbe struct {
	n, next   int64
	base      uint64
	peak      uint64
	ms        runtime.MemStats
	w         io.Writer
	r         io.Reader
	perSample int64
}

func newHeapProbe() *heapProbe {
	runtime.GC()
	p := &heapProbe{perSample: 1 << 20}
	runtime.ReadMemStats(&p.ms)
	p.base, p.peak = p.ms.HeapInuse, p.ms.HeapInuse
	return p
}

func (p *heapProbe) count(n int) {
	p.n += int64(n)
	if p.n >= p.next {
		p.next = p.n + p.perSample
		runtime.ReadMemStats(&p.ms)
		p.peak = max(p.peak, p.ms.HeapInuse)
	}
}

func (p *heapProbe) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.count(n)
	return n, err
}

func (p *heapProbe) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.count(n)
	return n, err
}

func (p *heapProbe) growth() uint64 { return p.peak - p.base }

// TestConstantMemory backs up a tenant of 200,000 rows (about 50 MB) to a file and restores it, in plain text and
// encrypted with age: the heap in use while the data streams through grows by a small fraction of its size,
// whatever the size.
func TestConstantMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 200,000 rows")
	}
	const rows = 200_000
	start := time.Now()
	src := newEnv(t)
	a := src.tenant(t, "alpha")
	src.as(t, a, func(ctx context.Context, tx pgx.Tx) error {
		// The bulk of each row is in a column without an index, which keeps the seed quick.
		_, err := tx.Exec(ctx, `INSERT INTO webpages_pagetheme (name, settings)
			SELECT 't' || g, jsonb_build_object('n', g, 'pad', repeat('x', 180)) FROM generate_series(1, $1) g`, rows)
		return err
	})
	t.Logf("seed: %s", time.Since(start))
	// A low GC target keeps garbage from hiding what is live; what is measured is the peak between samples.
	defer debug.SetGCPercent(debug.SetGCPercent(20))

	dst := newEnv(t)
	for _, encrypted := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "age"}[encrypted]
		t.Run(name, func(t *testing.T) {
			var recipients []age.Recipient
			var identities []age.Identity
			if encrypted {
				id, err := age.GenerateX25519Identity()
				require.NoError(t, err)
				recipients, identities = []age.Recipient{id.Recipient()}, []age.Identity{id}
			}
			path := filepath.Join(t.TempDir(), "alpha.backup")
			f, err := os.Create(path)
			require.NoError(t, err)
			probe := newHeapProbe()
			probe.w = f
			var w io.Writer = probe
			var sealed io.WriteCloser
			if encrypted {
				sealed, err = age.Encrypt(probe, recipients...)
				require.NoError(t, err)
				w = sealed
			}
			start := time.Now()
			m, err := backup.Write(t.Context(), src.runner, src.source(a), w)
			require.NoError(t, err)
			if sealed != nil {
				require.NoError(t, sealed.Close())
			}
			require.NoError(t, f.Close())
			assert.Equal(t, int64(rows), m.Rows)
			size := probe.n
			t.Logf("backup: %d rows, %.1f MB written in %s; heap in use grew by at most %.2f MB (from %.2f MB)",
				m.Rows, float64(size)/1e6, time.Since(start).Round(time.Millisecond), float64(probe.growth())/1e6,
				float64(probe.base)/1e6)
			require.Greater(t, size, int64(40e6))
			assert.Less(t, probe.growth(), uint64(16<<20), "far below the %d bytes of data", size)
			assert.Less(t, probe.growth(), uint64(size/4))

			c := dst.tenant(t, "gamma_"+name)
			f, err = os.Open(path)
			require.NoError(t, err)
			defer f.Close()
			probe = newHeapProbe()
			probe.r = f
			start = time.Now()
			in, wasSealed, err := backup.Decrypt(probe, identities)
			require.NoError(t, err)
			assert.Equal(t, encrypted, wasSealed)
			restored, err := backup.Restore(t.Context(), dst.runner, dst.target(c), in)
			require.NoError(t, err)
			assert.True(t, restored.Authenticated)
			assert.Equal(t, m.Tables, restored.Tables)
			t.Logf("restore: %.1f MB read in %s; heap in use grew by at most %.2f MB (from %.2f MB)",
				float64(probe.n)/1e6, time.Since(start).Round(time.Millisecond), float64(probe.growth())/1e6,
				float64(probe.base)/1e6)
			assert.Equal(t, size, probe.n)
			assert.Less(t, probe.growth(), uint64(16<<20), "far below the %d bytes of data", size)
		})
	}
}
