package verify

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// MinVersion is the oldest PostgreSQL the migrations run on (server_version_num): ON DELETE SET NULL (columns)
// is new in 15.
const MinVersion = 150000

// Flaw is a known security flaw of PostgreSQL that defeats or leaks past row-level security, with the first
// minor release of each major version that fixes it.
type Flaw struct {
	CVE     string
	Summary string
	// Since is the first version (server_version_num) that has the flaw.
	Since int
	// Fixed lists, per major version, its first release that fixes the flaw (server_version_num). A major newer
	// than all of them was released with the fix; an older one that has the flaw never got it.
	Fixed []int
	// Sources are the release notes and advisories the versions come from.
	Sources []string
}

// Flaws is the table of row-level security flaws, oldest first. Keep it current: when a PostgreSQL release fixes
// another flaw of row security (its release notes and https://www.postgresql.org/support/security/ say so), add
// it here with its sources and a row to the table test.
var Flaws = []Flaw{{
	CVE:     "CVE-2016-2193",
	Summary: "a cached plan keeps the row security of the role it was planned for when the session changes role",
	Since:   90500,
	Fixed:   []int{90502},
	Sources: []string{"https://www.postgresql.org/docs/release/9.5.2/",
		"https://www.postgresql.org/support/security/CVE-2016-2193/"},
}, {
	CVE:     "CVE-2017-7484",
	Summary: "selectivity estimators run leaky user-defined operators over pg_statistic values of rows the user cannot read",
	Since:   90500, // earlier majors had the flaw too, but no row-level security
	Fixed:   []int{90507, 90603},
	Sources: []string{"https://www.postgresql.org/docs/release/9.6.3/",
		"https://www.postgresql.org/support/security/CVE-2017-7484/"},
}, {
	CVE:     "CVE-2017-15099",
	Summary: "INSERT … ON CONFLICT DO UPDATE discloses rows that SELECT policies hide",
	Since:   90500,
	Fixed:   []int{90510, 90606, 100001},
	Sources: []string{"https://www.postgresql.org/docs/release/10.1/",
		"https://www.postgresql.org/support/security/CVE-2017-15099/"},
}, {
	CVE:     "CVE-2019-10130",
	Summary: "selectivity estimators bypass row security policies (leaky operators over most-common values)",
	Since:   90500,
	Fixed:   []int{90517, 90613, 100008, 110003},
	Sources: []string{"https://www.postgresql.org/docs/release/11.3/",
		"https://www.postgresql.org/support/security/CVE-2019-10130/"},
}, {
	CVE:     "CVE-2023-2455",
	Summary: "row security policies disregard user ID changes after inlining a set-returning function",
	Since:   90500,
	Fixed:   []int{110020, 120015, 130011, 140008, 150003},
	Sources: []string{"https://www.postgresql.org/docs/release/15.3/",
		"https://www.postgresql.org/support/security/CVE-2023-2455/"},
}, {
	CVE:     "CVE-2023-39418",
	Summary: "MERGE enforces INSERT policies instead of the UPDATE and SELECT row security policies",
	Since:   150000, // MERGE is new in 15
	Fixed:   []int{150004},
	Sources: []string{"https://www.postgresql.org/docs/release/15.4/",
		"https://www.postgresql.org/support/security/CVE-2023-39418/"},
}, {
	// Fixed in the releases of 2024-11-14. The releases of 2024-11-21 (17.2, 16.6, 15.10, 14.15, 13.18, 12.22)
	// only undid an ABI break of those: they are the ones to install, but the flaw is fixed in both.
	CVE:     "CVE-2024-10976",
	Summary: "row security below subqueries, CTEs, sublinks and security-invoker views disregards user ID changes",
	Since:   90500,
	Fixed:   []int{120021, 130017, 140014, 150009, 160005, 170001},
	Sources: []string{"https://www.postgresql.org/docs/release/16.5/",
		"https://www.postgresql.org/support/security/CVE-2024-10976/"},
}, {
	CVE:     "CVE-2025-8713",
	Summary: "optimizer statistics let a leaky operator read rows that row security hides in partitions and inheritance children",
	Since:   90500,
	Fixed:   []int{130022, 140019, 150014, 160010, 170006},
	Sources: []string{"https://www.postgresql.org/docs/release/17.6/",
		"https://www.postgresql.org/support/security/CVE-2025-8713/"},
}}

// Major is the first release of num's major version: 150000 for 150004 (15.4), 90500 for 90502 (9.5.2).
func Major(num int) int {
	if num >= 100000 {
		return num / 10000 * 10000
	}
	return num / 100 * 100
}

// FormatVersion spells a server_version_num as PostgreSQL does: 150004 → "15.4", 90502 → "9.5.2".
func FormatVersion(num int) string {
	if num >= 100000 {
		return fmt.Sprintf("%d.%d", num/10000, num%10000)
	}
	return fmt.Sprintf("%d.%d.%d", num/10000, num/100%100, num%100)
}

// Affects reports whether the release num has the flaw, and the first release of its major that fixes it (0
// when none does: upgrade to a newer major).
func (f Flaw) Affects(num int) (affected bool, fixedIn int) {
	if num < f.Since {
		return false, 0
	}
	major := Major(num)
	for _, fixed := range f.Fixed {
		if Major(fixed) == major {
			return num < fixed, fixed
		}
	}
	for _, fixed := range f.Fixed {
		if Major(fixed) > major {
			return true, 0 // an older major that never got the fix
		}
	}
	return false, 0 // released after the fix
}

// KnownFlaws returns the flaws of Flaws that release num has, and the oldest release of its major that has none
// of them (0 when its major never got every fix).
func KnownFlaws(num int) (flaws []Flaw, safe int) {
	safe = num
	for _, f := range Flaws {
		affected, fixed := f.Affects(num)
		if !affected {
			continue
		}
		flaws = append(flaws, f)
		if fixed == 0 || safe == 0 {
			safe = 0
		} else {
			safe = max(safe, fixed)
		}
	}
	return flaws, safe
}

// checkVersion returns CheckVersion for the server DATABASE_URL reaches (else ADMIN_DATABASE_URL's). It trusts
// the version the server reports: a distribution that backports fixes to an older minor release fails it anyway.
func (s *session) checkVersion(ctx context.Context) Result {
	conn := s.app
	if conn == nil {
		conn = s.admin
	}
	if conn == nil {
		return s.needApp(CheckVersion)[0]
	}
	var raw string
	if err := conn.QueryRow(ctx, "SELECT pg_catalog.current_setting('server_version_num')").Scan(&raw); err != nil {
		return failedQuery(CheckVersion, err)
	}
	num, err := strconv.Atoi(raw)
	if err != nil {
		return failedQuery(CheckVersion, fmt.Errorf("server_version_num %q: %w", raw, err))
	}
	return versionResult(num)
}

// versionResult is CheckVersion's verdict on release num.
func versionResult(num int) Result {
	v := FormatVersion(num)
	if num < MinVersion {
		return Failed(CheckVersion, fmt.Sprintf("PostgreSQL %s is older than %s, which pgtenant's migrations need",
			v, FormatVersion(MinVersion)), "upgrade to PostgreSQL 15 or later (pg_upgrade)")
	}
	flaws, safe := KnownFlaws(num)
	if len(flaws) == 0 {
		return Passed(CheckVersion, "PostgreSQL "+v)
	}
	var list []string
	for _, f := range flaws {
		list = append(list, fmt.Sprintf("%s (%s; %s)", f.CVE, f.Summary, f.Sources[0]))
	}
	fix := fmt.Sprintf("upgrade to PostgreSQL %s or later: a minor upgrade, new packages and a restart", FormatVersion(safe))
	if safe == 0 {
		fix = "upgrade to a supported major version of PostgreSQL: this one gets no more fixes"
	}
	return Failed(CheckVersion, fmt.Sprintf("PostgreSQL %s has %d known row-level security flaw(s): %s",
		v, len(flaws), strings.Join(list, "; ")), fix)
}
