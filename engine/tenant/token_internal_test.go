package tenant

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestWellFormedToken checks the loop against the regexp it replaced.
func TestWellFormedToken(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9_\-.~+/=]{16,512}$`)
	for _, s := range []string{
		"", "short", "pgt_0123456789abcdef", "pgt_0123456789abcde", "pgt_0123456789abcdefXYZ-._~+/=",
		strings.Repeat("a", 15), strings.Repeat("a", 16), strings.Repeat("a", 512), strings.Repeat("a", 513),
		"pgt_0123456789abc def", "pgt_0123456789abcdé", "pgt_0123456789abcd\n", "pgt_0123456789abcd!", "pgt_0123456789abcd%",
		"pgt_0123456789abcd:", "pgt_0123456789abcd@",
	} {
		assert.Equal(t, re.MatchString(s), wellFormedToken(s), "%q", s)
	}
	for c := 0; c < 256; c++ {
		s := strings.Repeat("a", 16) + string([]byte{byte(c)})
		assert.Equal(t, re.MatchString(s), wellFormedToken(s), "byte %d", c)
	}
}
