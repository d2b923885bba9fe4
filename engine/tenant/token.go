package tenant

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// TokenPrefix starts every token, so that a leaked one is recognisable (by
// secret scanners, in logs) and cannot be mistaken for a JWT.
const TokenPrefix = "pgt_"

// A token is TokenPrefix, its secret (32 random bytes, 43 characters of
// unpadded base64url) and a checksum (6 characters: the CRC-32 of everything
// before it, in unpadded base64url), as GitHub's tokens carry one: 53
// characters. The checksum lets the server refuse a mistyped or made-up token
// without a database lookup. It is no secret and no signature: anyone who
// knows the format can make a token that passes it, so a made-up token that
// does still costs one lookup (remembered in the bounded negative cache), and
// failed authentications are rate-limited per client address by the server.
const (
	tokenSecretLen   = 43 // base64.RawURLEncoding.EncodedLen(32)
	tokenChecksumLen = 6  // base64.RawURLEncoding.EncodedLen(4)
	tokenLen         = len(TokenPrefix) + tokenSecretLen + tokenChecksumLen
	// legacyTokenLen is the length of the tokens made before the checksum:
	// TokenPrefix and the secret alone.
	legacyTokenLen = len(TokenPrefix) + tokenSecretLen
)

// Why a token is refused before any lookup. ErrBadCredential wraps them,
// for the request log.
var (
	errTokenShape    = errors.New("not a pgtenant token: want pgt_ and 49 base64url characters")
	errTokenLegacy   = errors.New("a token of an earlier format (pgt_ and 43 characters, no checksum): make a new one with `pgtenant token create` and revoke this one")
	errTokenChecksum = errors.New("the token's checksum does not match: mistyped, cut or made up")
)

// FormatToken returns the token whose secret is secret (32 bytes from a
// cryptographic random source): TokenPrefix, the secret in unpadded
// base64url and the checksum.
func FormatToken(secret [32]byte) string {
	b := make([]byte, 0, tokenLen)
	b = append(b, TokenPrefix...)
	b = base64.RawURLEncoding.AppendEncode(b, secret[:])
	return string(appendChecksum(b))
}

// appendChecksum appends the checksum of b to b.
func appendChecksum(b []byte) []byte {
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], crc32.ChecksumIEEE(b))
	return base64.RawURLEncoding.AppendEncode(b, sum[:])
}

// CheckToken returns nil when s has the form of a token: the prefix, the
// length, the alphabet and the checksum. It touches no database and
// allocates nothing: it runs on every request, before any lookup. A token of
// the earlier format (without checksum) is refused with an error that says
// so.
func CheckToken(s string) error {
	if len(s) == legacyTokenLen && s[:len(TokenPrefix)] == TokenPrefix && base64URL(s[len(TokenPrefix):]) {
		return errTokenLegacy
	}
	if len(s) != tokenLen || s[:len(TokenPrefix)] != TokenPrefix || !base64URL(s[len(TokenPrefix):]) {
		return errTokenShape
	}
	body := s[:tokenLen-tokenChecksumLen]
	var want, got [4]byte
	binary.BigEndian.PutUint32(want[:], crc32String(body))
	var sum [tokenChecksumLen]byte
	copy(sum[:], s[len(body):])
	if n, err := base64.RawURLEncoding.Strict().Decode(got[:], sum[:]); err != nil || n != len(got) || got != want {
		return errTokenChecksum
	}
	return nil
}

// crc32String is crc32.ChecksumIEEE of s, bytewise from the package's
// table, without the copy to a []byte (which crc32 would let escape: one
// allocation per request).
func crc32String(s string) uint32 {
	crc := ^uint32(0)
	for i := 0; i < len(s); i++ {
		crc = crc32.IEEETable[byte(crc)^s[i]] ^ crc>>8
	}
	return ^crc
}

// base64URL reports whether s holds only the unpadded base64url alphabet.
// A loop rather than a regexp: it runs on every request.
func base64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}
