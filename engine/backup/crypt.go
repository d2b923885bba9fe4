package backup

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
	"filippo.io/age/armor"
)

// Encryption at rest is age's (filippo.io/age): `backup --recipient` writes the backup through age.Encrypt, and
// Decrypt reads it back as it streams, in 64 KiB chunks, so memory stays constant. The backup inside is unchanged,
// HMAC included: age's authentication proves only that the file was not changed since someone encrypted it, and
// anyone with a recipient's public key can encrypt a file of their own, so only the HMAC, verified after
// decryption, says who wrote it.

// The first bytes of an age file, binary and armored.
var (
	ageMagic  = []byte("age-encryption.org/")
	ageArmour = []byte(armor.Header)
)

// Decrypt returns the backup that r holds and whether it was encrypted: r's bytes as they are when it is not an
// age file, else its plaintext, decrypted with identities as it is read (binary or armored). Returns ErrEncrypted
// when r is an age file and identities is empty or none of them is one of its recipients.
func Decrypt(r io.Reader, identities []age.Identity) (io.Reader, bool, error) {
	br := bufio.NewReaderSize(r, bufferSize)
	head, _ := br.Peek(len(ageArmour)) // shorter at the end of a small file: compared as far as it goes
	var src io.Reader
	switch {
	case bytes.HasPrefix(head, ageMagic):
		src = br
	case bytes.HasPrefix(head, ageArmour):
		src = armor.NewReader(br)
	default:
		return br, false, nil
	}
	if len(identities) == 0 {
		return nil, true, fmt.Errorf("%w with age: give an identity that can decrypt it (restore --identity FILE)", ErrEncrypted)
	}
	plain, err := age.Decrypt(src, identities...)
	var noMatch *age.NoIdentityMatchError
	if errors.As(err, &noMatch) {
		return nil, true, fmt.Errorf("%w with age, and none of the identities given is one of its recipients", ErrEncrypted)
	}
	if err != nil {
		return nil, true, fmt.Errorf("%w: age: %w", ErrCorrupt, err)
	}
	return corruptOnError{plain}, true, nil
}

// corruptOnError reports the errors of age's reader, which authenticates every chunk as it decrypts it, as
// damage to the file.
type corruptOnError struct{ r io.Reader }

func (c corruptOnError) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("%w: age: %w", ErrCorrupt, err)
	}
	return n, err
}
