package verify

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestVersionResult(t *testing.T) {
	tests := []struct {
		version int
		ok      bool
		detail  []string
		fix     string
	}{
		{150018, true, []string{"PostgreSQL 15.18"}, ""},
		{150008, false, []string{"PostgreSQL 15.8 has 2 known row-level security flaw(s)", "CVE-2024-10976",
			"https://www.postgresql.org/docs/release/16.5/", "CVE-2025-8713"},
			"upgrade to PostgreSQL 15.14 or later: a minor upgrade, new packages and a restart"},
		{140010, false, []string{"PostgreSQL 14.10 is older than 15.0"}, "upgrade to PostgreSQL 15 or later"},
	}
	for _, tt := range tests {
		r := versionResult(tt.version)
		assert.Equal(t, CheckVersion, r.Name)
		assert.Equal(t, tt.ok, r.OK, r.Detail)
		for _, d := range tt.detail {
			assert.Contains(t, r.Detail, d)
		}
		assert.Contains(t, r.Fix, tt.fix)
	}
}
