package verify_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"pgtenant/engine/verify"
)

func TestKnownFlaws(t *testing.T) {
	tests := []struct {
		name    string
		version int
		want    []string // CVE ids
		safe    int      // 0: no release of this major has every fix
	}{
		{"15.2 has every flaw of 15", 150002,
			[]string{"CVE-2023-2455", "CVE-2023-39418", "CVE-2024-10976", "CVE-2025-8713"}, 150014},
		{"15.3 fixes CVE-2023-2455", 150003, []string{"CVE-2023-39418", "CVE-2024-10976", "CVE-2025-8713"}, 150014},
		{"15.8 misses the 2024 fix", 150008, []string{"CVE-2024-10976", "CVE-2025-8713"}, 150014},
		{"15.9 has the 2024 fix", 150009, []string{"CVE-2025-8713"}, 150014},
		{"15.14 has every fix", 150014, nil, 150014},
		{"15.18, a later minor", 150018, nil, 150018},
		{"16.0 was released with the MERGE fix", 160000, []string{"CVE-2024-10976", "CVE-2025-8713"}, 160010},
		{"16.10", 160010, nil, 160010},
		{"17.0", 170000, []string{"CVE-2024-10976", "CVE-2025-8713"}, 170006},
		{"17.5", 170005, []string{"CVE-2025-8713"}, 170006},
		{"17.6", 170006, nil, 170006},
		{"18.0 was released after every fix", 180000, nil, 180000},
		{"14.13", 140013, []string{"CVE-2024-10976", "CVE-2025-8713"}, 140019},
		{"13.21", 130021, []string{"CVE-2025-8713"}, 130022},
		{"12.22 never got the 2025 fix", 120022, []string{"CVE-2025-8713"}, 0},
		{"11.22, end of life", 110022, []string{"CVE-2024-10976", "CVE-2025-8713"}, 0},
		{"10.7", 100007, []string{"CVE-2019-10130", "CVE-2023-2455", "CVE-2024-10976", "CVE-2025-8713"}, 0},
		{"9.5.1", 90501, []string{"CVE-2016-2193", "CVE-2017-7484", "CVE-2017-15099", "CVE-2019-10130",
			"CVE-2023-2455", "CVE-2024-10976", "CVE-2025-8713"}, 0},
		{"9.4 had no row-level security", 90426, nil, 90426},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flaws, safe := verify.KnownFlaws(tt.version)
			var got []string
			for _, f := range flaws {
				got = append(got, f.CVE)
			}
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.safe, safe)
		})
	}
}

func TestFlaws_Table(t *testing.T) {
	for _, f := range verify.Flaws {
		assert.Regexp(t, `^CVE-\d{4}-\d+$`, f.CVE)
		assert.NotEmpty(t, f.Summary, f.CVE)
		assert.NotEmpty(t, f.Fixed, f.CVE)
		assert.True(t, slices.IsSorted(f.Fixed), "%s: fixed releases in ascending order", f.CVE)
		majors := map[int]bool{}
		for _, v := range f.Fixed {
			assert.False(t, majors[verify.Major(v)], "%s: one fixed release per major", f.CVE)
			majors[verify.Major(v)] = true
			affected, fixedIn := f.Affects(v)
			assert.False(t, affected, "%s: %s is fixed", f.CVE, verify.FormatVersion(v))
			assert.Equal(t, v, fixedIn)
			if v-1 >= f.Since && v%100 != 0 {
				affected, _ = f.Affects(v - 1)
				assert.True(t, affected, "%s: %s is not fixed", f.CVE, verify.FormatVersion(v-1))
			}
		}
		assert.NotEmpty(t, f.Sources, f.CVE)
		for _, s := range f.Sources {
			assert.True(t, strings.HasPrefix(s, "https://www.postgresql.org/"), "%s: source %s", f.CVE, s)
		}
	}
}

func TestFormatVersion(t *testing.T) {
	tests := []struct {
		num, major int
		want       string
	}{
		{150004, 150000, "15.4"},
		{170000, 170000, "17.0"},
		{100001, 100000, "10.1"},
		{90502, 90500, "9.5.2"},
		{90613, 90600, "9.6.13"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, verify.FormatVersion(tt.num))
		assert.Equal(t, tt.major, verify.Major(tt.num), tt.want)
	}
}
