package backup

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
)

// MinKeyBytes is the shortest secret NewKey accepts: as long as HMAC-SHA256's output (RFC 2104 §3).
const MinKeyBytes = 32

// Key authenticates backups (BACKUP_KEY). Write puts an HMAC-SHA256 of the whole file in it, and Restore and
// Verify refuse a file whose HMAC does not verify. Whoever holds the key can write a file that verifies: it proves
// that the file was written (or approved) by a holder of the key and not changed since, not which database it
// came from.
type Key struct {
	mac []byte // the HMAC key, derived from the secret
	id  string // a public name of the key, derived from the secret
}

// NewKey derives a Key from secret, which must have at least MinKeyBytes bytes. The HMAC key and the key's id are
// derived with HKDF-SHA256 under distinct labels, so the id, written in every file, reveals nothing about the
// HMAC key.
func NewKey(secret []byte) (*Key, error) {
	if len(secret) < MinKeyBytes {
		return nil, fmt.Errorf("backup: the key has %d bytes; it needs at least %d", len(secret), MinKeyBytes)
	}
	mac, err := hkdf.Key(sha256.New, secret, nil, "pgtenant backup v2 hmac-sha256", sha256.Size)
	if err != nil {
		return nil, fmt.Errorf("backup: derive the key: %w", err)
	}
	id, err := hkdf.Key(sha256.New, secret, nil, "pgtenant backup v2 key id", 8)
	if err != nil {
		return nil, fmt.Errorf("backup: derive the key: %w", err)
	}
	return &Key{mac: mac, id: hex.EncodeToString(id)}, nil
}

// ID is the key's public name, written in the manifest of the files it authenticates (key_id), so that a file
// written with another key is told apart from a changed one.
func (k *Key) ID() string { return k.id }

func (k *Key) hash() hash.Hash { return hmac.New(sha256.New, k.mac) }

// Trust is what a restore accepts as the origin of a file.
type Trust struct {
	// Key verifies the file's HMAC; nil: no key is configured, so no file can be verified.
	Key *Key
	// AllowUnauthenticated accepts a file whose origin cannot be verified: one without an HMAC (written without
	// a key, or in format version 1), or any file when Key is nil. Its manifest's claims, the source tenant
	// included, are then only what the file says. A file whose HMAC does not verify with Key is never accepted.
	AllowUnauthenticated bool
}

// checkHeader decides from the header alone, before any row is read, what can be refused at once: a file that
// cannot be authenticated (ErrUnauthenticated, unless allowed), an unknown MAC algorithm (ErrUnsupported), and a
// file written with another key than Key (ErrForged). It returns the hash to verify at the end, nil for none.
func (tr Trust) checkHeader(h header) (hash.Hash, error) {
	switch {
	case h.MAC != "" && h.MAC != MACAlgorithm:
		return nil, fmt.Errorf("%w: MAC %q (this pgtenant knows %s)", ErrUnsupported, h.MAC, MACAlgorithm)
	case h.MAC == "" && h.KeyID != "":
		return nil, fmt.Errorf("%w: the header names a key but no MAC", ErrCorrupt)
	case h.MAC == "" && !tr.AllowUnauthenticated:
		why := "it carries no HMAC: it was written without BACKUP_KEY"
		if h.FormatVersion < FormatVersion {
			why = fmt.Sprintf("it is in format version %d, which has no HMAC", h.FormatVersion)
		}
		return nil, fmt.Errorf("%w: %s", ErrUnauthenticated, why)
	case h.MAC == "":
		return nil, nil
	case tr.Key == nil && !tr.AllowUnauthenticated:
		return nil, fmt.Errorf("%w: it carries an HMAC (key id %s), but no key is configured to check it (BACKUP_KEY)",
			ErrUnauthenticated, h.KeyID)
	case tr.Key == nil:
		return nil, nil
	case h.KeyID != tr.Key.ID():
		return nil, fmt.Errorf("%w: it was written with another key (key id %s; this BACKUP_KEY is key id %s)",
			ErrForged, h.KeyID, tr.Key.ID())
	}
	return tr.Key.hash(), nil
}
