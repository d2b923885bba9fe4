package backup_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/backup"
)

// forgery says how forge rewrites a backup.
type forgery struct {
	keepHMAC bool        // leave the HMAC line and header fields as they were (they no longer match)
	reMAC    *backup.Key // authenticate the result with this key (the attacker's own)
	version  int         // rewrite the format version (1: an old file, which has no HMAC)
}

// forge edits a backup as an attacker who can write the file would (issue 11): a row of webpages_webpage changes
// ("alpha-home" becomes "pwned-home"), the source tenant becomes "victim", and every unkeyed checksum is
// recomputed (the table's SHA-256 in the trailer, the file's SHA-256). The HMAC cannot be recomputed without the
// key: it is kept (and then wrong), dropped, or made with another key.
func forge(t *testing.T, file []byte, f forgery) []byte {
	t.Helper()
	ls := lines(file)
	ls = ls[:len(ls)-1] // the empty string after the last "\n"
	editJSON := func(line string, edit func(map[string]any)) string {
		var v map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &v))
		edit(v)
		b, err := json.Marshal(v)
		require.NoError(t, err)
		return string(b) + "\n"
	}
	header := func(v map[string]any) {
		v["tenant"].(map[string]any)["identifier"] = "victim"
		if !f.keepHMAC {
			delete(v, "mac")
			delete(v, "key_id")
		}
		if f.reMAC != nil {
			v["mac"], v["key_id"] = backup.MACAlgorithm, f.reMAC.ID()
		}
		if f.version != 0 {
			v["format_version"] = f.version
		}
	}
	ls[0] = editJSON(ls[0], header)
	// Change the row, and recompute its table's SHA-256.
	var section []string
	table := ""
	sums := map[string]string{}
	for i := 1; i < len(ls)-2; i++ {
		switch {
		case strings.HasPrefix(ls[i], `{"table":`):
			var s struct{ Table string }
			require.NoError(t, json.Unmarshal([]byte(ls[i]), &s))
			table, section = s.Table, nil
		case ls[i] == "\\.\n":
			sum := sha256.Sum256([]byte(strings.Join(section, "")))
			sums[table] = hex.EncodeToString(sum[:])
		default:
			ls[i] = strings.ReplaceAll(ls[i], "alpha-home", "pwned-home")
			section = append(section, ls[i])
		}
	}
	trailer := len(ls) - 2
	ls[trailer] = editJSON(ls[trailer], func(v map[string]any) {
		header(v)
		for _, tbl := range v["tables"].([]any) {
			tm := tbl.(map[string]any)
			tm["sha256"] = sums[tm["name"].(string)]
		}
	})
	body := []byte(strings.Join(ls[:len(ls)-1], ""))
	require.Contains(t, string(body), "pwned-home")
	sum := sha256.Sum256(body)
	last := map[string]string{"sha256": hex.EncodeToString(sum[:])}
	if f.keepHMAC {
		var old map[string]string
		require.NoError(t, json.Unmarshal([]byte(ls[len(ls)-1]), &old))
		last["hmac_sha256"] = old["hmac_sha256"]
	}
	if f.reMAC != nil {
		// Any value: the header names another key, so the file is refused before its HMAC is read. (An attacker
		// with a key of their own can write a file that verifies with it, never with this one.)
		last["hmac_sha256"] = strings.Repeat("ab", sha256.Size)
	}
	b, err := json.Marshal(last)
	require.NoError(t, err)
	return append(body, append(b, '\n')...)
}

// TestRestore_RefusesForgedFiles is issue 11's attack: an edited row with recomputed SHA-256s, and a forged source
// tenant. With a key, the file is refused whatever the forger did with the HMAC; without one, an unauthenticated
// file is refused unless explicitly allowed, and then the manifest says it is not authenticated.
func TestRestore_RefusesForgedFiles(t *testing.T) {
	src := newEnv(t)
	a := src.tenant(t, "alpha")
	src.seed(t, a, "alpha", 'a')
	file, _ := src.backupOf(t, a)
	var plain bytes.Buffer // the same tenant backed up without a key
	s := src.source(a)
	s.Key = nil
	_, err := backup.Write(t.Context(), src.runner, s, &plain)
	require.NoError(t, err)

	allow := backup.Trust{Key: testKey, AllowUnauthenticated: true}
	noKey := backup.Trust{}
	noKeyAllow := backup.Trust{AllowUnauthenticated: true}
	other := mustKey("another-key-another-key-another-key-another")
	tests := []struct {
		name  string
		file  []byte
		trust backup.Trust
		want  error // nil: restored, unauthenticated
	}{
		{"edited, the HMAC kept", forge(t, file, forgery{keepHMAC: true}), trust, backup.ErrForged},
		{"edited, the HMAC kept, allowed unauthenticated", forge(t, file, forgery{keepHMAC: true}), allow, backup.ErrForged},
		{"edited, re-authenticated with another key", forge(t, file, forgery{reMAC: other}), allow, backup.ErrForged},
		{"edited, the HMAC dropped", forge(t, file, forgery{}), trust, backup.ErrUnauthenticated},
		{"edited, the HMAC dropped, no key", forge(t, file, forgery{}), noKey, backup.ErrUnauthenticated},
		{"edited as format version 1", forge(t, file, forgery{version: 1}), trust, backup.ErrUnauthenticated},
		{"an authenticated file, no key to check it", file, noKey, backup.ErrUnauthenticated},
		{"a file written without a key", plain.Bytes(), trust, backup.ErrUnauthenticated},

		{"edited, the HMAC dropped, allowed", forge(t, file, forgery{}), allow, nil},
		{"edited as format version 1, allowed", forge(t, file, forgery{version: 1}), noKeyAllow, nil},
		{"an authenticated file, no key, allowed", file, noKeyAllow, nil},
	}
	dst := newEnv(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dst.tenant(t, "gamma_"+string(rune('a'+i)))
			_, err := backup.Verify(bytes.NewReader(tt.file), tt.trust)
			target := dst.target(c)
			target.Trust = tt.trust
			m, rerr := backup.Restore(t.Context(), dst.runner, target, bytes.NewReader(tt.file))
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
				require.ErrorIs(t, rerr, tt.want)
				t.Log(rerr)
				assert.Empty(t, dst.dump(t, c)["webpages_webpage"], "nothing is written")
				return
			}
			require.NoError(t, err)
			require.NoError(t, rerr)
			assert.False(t, m.Authenticated, "the manifest's claims are not verified")
		})
	}
	// The genuine file restores, authenticated.
	c := dst.tenant(t, "genuine")
	m, err := backup.Restore(t.Context(), dst.runner, dst.target(c), bytes.NewReader(file))
	require.NoError(t, err)
	assert.True(t, m.Authenticated)
	assert.Equal(t, "alpha", m.Tenant.Identifier)
}
