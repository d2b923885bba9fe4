package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// renameSource rewrites a backup's claimed source tenant (header and trailer) and recomputes the file's SHA-256,
// as a forger would; the HMAC, when there is one, stays as it was.
func renameSource(t *testing.T, file []byte, from, to string) []byte {
	t.Helper()
	ls := strings.SplitAfter(string(file), "\n")
	ls = ls[:len(ls)-1]
	body := strings.ReplaceAll(strings.Join(ls[:len(ls)-1], ""), `"identifier":"`+from+`"`, `"identifier":"`+to+`"`)
	var last map[string]string
	require.NoError(t, json.Unmarshal([]byte(ls[len(ls)-1]), &last))
	sum := sha256.Sum256([]byte(body))
	last["sha256"] = hex.EncodeToString(sum[:])
	b, err := json.Marshal(last)
	require.NoError(t, err)
	return append([]byte(body), append(b, '\n')...)
}

// TestBackupRestore_Authenticity: with BACKUP_KEY a changed file is refused and never restored; an unauthenticated
// file is refused unless --allow-unauthenticated, and then the restore says that the file's claims, its source
// tenant included, are unverified, never repeating them as facts.
func TestBackupRestore_Authenticity(t *testing.T) {
	t.Parallel()
	src := useBackupDB(t)
	src.tenant(t, "alpha")
	alphaID := src.tenant(t, "alpha2")
	src.seed(t, alphaID, "alpha2")
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o600))
		return p
	}

	env := src.env()
	keyed := filepath.Join(dir, "keyed.backup")
	code, _, stderr := pgtenant(t, env, "backup", "--tenant", "alpha2", "-o", keyed)
	require.Equal(t, exitOK, code, stderr)
	env["BACKUP_KEY"] = ""
	plain := filepath.Join(dir, "plain.backup")
	code, _, stderr = pgtenant(t, env, "backup", "--tenant", "alpha2", "-o", plain)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "NOT authenticated (BACKUP_KEY is not set: a restore needs --allow-unauthenticated)")
	keyedFile, err := os.ReadFile(keyed)
	require.NoError(t, err)
	plainFile, err := os.ReadFile(plain)
	require.NoError(t, err)
	forgedKeyed := write("forged-keyed.backup", renameSource(t, keyedFile, "alpha2", "victim"))
	forgedPlain := write("forged-plain.backup", renameSource(t, plainFile, "alpha2", "victim"))

	dst := useBackupDB(t)
	n := 0
	restore := func(t *testing.T, key string, args ...string) (int, string, string) {
		t.Helper()
		n++
		tenant := "t" + string(rune('a'+n))
		dst.tenant(t, tenant)
		return pgtenant(t, dst.env().with("BACKUP_KEY", key), append([]string{"restore", "--tenant", tenant}, args...)...)
	}
	t.Run("a changed file with the key", func(t *testing.T) {
		for _, args := range [][]string{{forgedKeyed}, {"--allow-unauthenticated", forgedKeyed}} {
			code, stdout, stderr := restore(t, testBackupKey, args...)
			assert.Equal(t, exitFailure, code)
			assert.Empty(t, stdout)
			assert.Equal(t, "pgtenant restore: the backup's HMAC does not verify: the file was changed after it was "+
				"written: nothing was written. Do not restore this file: it was not written with this BACKUP_KEY as it is\n", stderr)
			assert.NotContains(t, stderr, "victim")
		}
	})
	t.Run("a file written with another key", func(t *testing.T) {
		code, _, stderr := restore(t, "another-key-another-key-another-key-another", "--allow-unauthenticated", keyed)
		assert.Equal(t, exitFailure, code)
		assert.Contains(t, stderr, "it was written with another key (key id "+cliTrust.Key.ID()+"; this BACKUP_KEY is key id ")
	})
	t.Run("an unauthenticated file is refused without the flag", func(t *testing.T) {
		for _, tc := range []struct{ key, path, why string }{
			{testBackupKey, forgedPlain, "it carries no HMAC: it was written without BACKUP_KEY"},
			{"", forgedPlain, "it carries no HMAC: it was written without BACKUP_KEY"},
			{"", keyed, "it carries an HMAC (key id " + cliTrust.Key.ID() + "), but no key is configured to check it (BACKUP_KEY)"},
		} {
			code, stdout, stderr := restore(t, tc.key, tc.path)
			assert.Equal(t, exitFailure, code)
			assert.Empty(t, stdout)
			assert.Equal(t, "pgtenant restore: the backup's origin cannot be verified: "+tc.why+": nothing was written. "+
				"Set BACKUP_KEY to the key the backup was written with, or pass --allow-unauthenticated to restore it "+
				"without knowing where it came from\n", stderr)
			// From stdin too.
			var out, errb bytes.Buffer
			data, err := os.ReadFile(tc.path)
			require.NoError(t, err)
			n++
			dst.tenant(t, "s"+string(rune('a'+n)))
			code = run(t.Context(), []string{"restore", "--tenant", "s" + string(rune('a'+n)), "-"},
				dst.env().with("BACKUP_KEY", tc.key).get, bytes.NewReader(data), &out, &errb)
			assert.Equal(t, exitFailure, code)
			assert.Contains(t, errb.String(), "the backup's origin cannot be verified")
		}
	})
	t.Run("an unauthenticated file with the flag: its claims are claims", func(t *testing.T) {
		code, stdout, stderr := restore(t, testBackupKey, "--allow-unauthenticated", forgedPlain)
		require.Equal(t, exitOK, code, stderr)
		assert.Contains(t, stdout, `from an unauthenticated file that claims, unverified, to be a backup of tenant "victim" made `)
		assert.NotContains(t, stdout, "from the backup of tenant")
		assert.Equal(t, "pgtenant restore: warning: the file's origin is NOT verified (it carries no HMAC: it was written "+
			"without BACKUP_KEY): anyone who could write it could have chosen its rows and what it says about itself.\n", stderr)
	})
}

// TestBackupRestore_Encrypted: backup --recipient and --recipients-file write an age file that restore reads
// with --identity; without a matching identity it is refused.
func TestBackupRestore_Encrypted(t *testing.T) {
	t.Parallel()
	src := useBackupDB(t)
	alpha := src.tenant(t, "alpha")
	src.seed(t, alpha, "alpha")
	dir := t.TempDir()
	alice, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	bob, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	idFile := func(id *age.X25519Identity) string {
		p := filepath.Join(dir, id.Recipient().String()[:12]+".key")
		require.NoError(t, os.WriteFile(p, []byte("# created: now\n# public key: "+id.Recipient().String()+"\n"+id.String()+"\n"), 0o600))
		return p
	}
	recipients := filepath.Join(dir, "recipients.txt")
	require.NoError(t, os.WriteFile(recipients, []byte("# bob\n"+bob.Recipient().String()+"\n"), 0o600))

	path := filepath.Join(dir, "alpha.backup.age")
	code, _, stderr := pgtenant(t, src.env(), "backup", "--tenant", "alpha", "-o", path, "--recipient", alice.Recipient().String(),
		"--recipients-file", recipients)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "authenticated with BACKUP_KEY (key id "+cliTrust.Key.ID()+"), encrypted with age to 2 recipient(s).")
	sealed, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(sealed, []byte("age-encryption.org/v1\n")))
	assert.NotContains(t, string(sealed), "alpha")

	dst := useBackupDB(t)
	for i, tc := range []struct {
		args []string
		want string // "" when restored
	}{
		{nil, "pgtenant restore: the backup is encrypted with age: give an identity that can decrypt it (restore --identity FILE): nothing was written\n"},
		{[]string{"--identity", idFile(mustIdentity(t))}, "none of the identities given is one of its recipients"},
		{[]string{"--identity", idFile(alice)}, ""},
		{[]string{"--identity", idFile(bob)}, ""},
	} {
		tenant := "t" + string(rune('a'+i))
		dst.tenant(t, tenant)
		code, stdout, stderr := pgtenant(t, dst.env(), append(append([]string{"restore", "--tenant", tenant}, tc.args...), path)...)
		if tc.want != "" {
			assert.Equal(t, exitFailure, code)
			assert.Contains(t, stderr, tc.want)
			continue
		}
		require.Equal(t, exitOK, code, stderr)
		assert.Contains(t, stdout, "from the backup of tenant alpha made ")
		assert.Contains(t, stdout, "HMAC verified with BACKUP_KEY")
	}
	code, _, stderr = pgtenant(t, dst.env(), "backup", "--tenant", "alpha", "--recipient", "age1notakey")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, `--recipient "age1notakey"`)
}

func mustIdentity(t *testing.T) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	return id
}
