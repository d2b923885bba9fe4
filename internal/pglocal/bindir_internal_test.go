package pglocal

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFindBinDir_NotFound(t *testing.T) {
	notFound := func(string) (string, error) { return "", errors.New("not found") }
	_, err := findBinDir(notFound, filepath.Join(t.TempDir(), "*", "bin"))
	require.ErrorIs(t, err, ErrNoBinaries)
	assert.Contains(t, err.Error(), "apt-get install postgresql", "the error says how to install PostgreSQL")
}

func TestFindBinDir_NewestVersion(t *testing.T) {
	root := t.TempDir()
	for _, version := range []string{"9", "15", "13"} {
		bin := filepath.Join(root, version, "bin")
		require.NoError(t, os.MkdirAll(bin, 0o755))
		for _, name := range []string{"initdb", "pg_ctl"} {
			require.NoError(t, os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"), 0o755))
		}
	}
	// A bindir without the server binaries, as pg_config from libpq-dev alone reports, is passed over.
	require.NoError(t, os.MkdirAll(filepath.Join(root, "17", "bin"), 0o755))

	notFound := func(string) (string, error) { return "", errors.New("not found") }
	dir, err := findBinDir(notFound, filepath.Join(root, "*", "bin"))
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(root, "15", "bin"), dir)
}
