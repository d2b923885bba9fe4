package backup_test

import (
	"bytes"
	"io"
	"testing"

	"filippo.io/age"
	"filippo.io/age/armor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/backup"
)

// encrypt age-encrypts file to recipients, armored or not.
func encrypt(t *testing.T, file []byte, armored bool, recipients ...age.Recipient) []byte {
	t.Helper()
	var out bytes.Buffer
	var dst io.Writer = &out
	var a io.WriteCloser
	if armored {
		a = armor.NewWriter(&out)
		dst = a
	}
	w, err := age.Encrypt(dst, recipients...)
	require.NoError(t, err)
	_, err = w.Write(file)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	if a != nil {
		require.NoError(t, a.Close())
	}
	return out.Bytes()
}

// TestRestore_Encrypted: a backup encrypted with age restores with one of its recipients' identities, its HMAC
// verified after decryption; without an identity, with another one, or with damaged ciphertext it is refused and
// nothing is written. A file that is not encrypted passes through Decrypt unchanged.
func TestRestore_Encrypted(t *testing.T) {
	src := newEnv(t)
	a := src.tenant(t, "alpha")
	src.seed(t, a, "alpha", 'a')
	file, _ := src.backupOf(t, a)
	want := src.dump(t, a)
	alice, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	bob, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	mallory, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	sealed := encrypt(t, file, false, alice.Recipient(), bob.Recipient())
	assert.NotContains(t, string(sealed), "alpha", "nothing of the tenant in clear")

	dst := newEnv(t)
	restore := func(t *testing.T, tenant backup.Tenant, in []byte, ids ...age.Identity) (*backup.Manifest, error) {
		t.Helper()
		plain, _, err := backup.Decrypt(bytes.NewReader(in), ids)
		if err != nil {
			return nil, err
		}
		return backup.Restore(t.Context(), dst.runner, dst.target(tenant), plain)
	}
	for i, tt := range []struct {
		name string
		file []byte
		ids  []age.Identity
	}{
		{"first recipient", sealed, []age.Identity{alice}},
		{"second recipient, among others", sealed, []age.Identity{mallory, bob}},
		{"armored", encrypt(t, file, true, alice.Recipient()), []age.Identity{alice}},
		{"not encrypted, an identity given", file, []age.Identity{alice}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := dst.tenant(t, "ok_"+string(rune('a'+i)))
			m, err := restore(t, c, tt.file, tt.ids...)
			require.NoError(t, err)
			assert.True(t, m.Authenticated, "the HMAC inside is verified")
			assert.Equal(t, want, dst.dump(t, c))
		})
	}
	damaged := bytes.Clone(sealed)
	damaged[len(damaged)-100] ^= 1
	for i, tt := range []struct {
		name string
		file []byte
		ids  []age.Identity
		want error
	}{
		{"no identity", sealed, nil, backup.ErrEncrypted},
		{"not a recipient", sealed, []age.Identity{mallory}, backup.ErrEncrypted},
		{"damaged ciphertext", damaged, []age.Identity{alice}, backup.ErrCorrupt},
		{"cut short", sealed[:len(sealed)/2], []age.Identity{alice}, backup.ErrCorrupt},
		{"someone else's file for our recipient", encrypt(t, forge(t, file, forgery{}), false, alice.Recipient()),
			[]age.Identity{alice}, backup.ErrUnauthenticated},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := dst.tenant(t, "bad_"+string(rune('a'+i)))
			_, err := restore(t, c, tt.file, tt.ids...)
			require.ErrorIs(t, err, tt.want)
			t.Log(err)
			assert.Empty(t, dst.dump(t, c)["webpages_webpage"])
		})
	}
}
