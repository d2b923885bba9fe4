package pgbouncer_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeps_InstallsMissingPgbouncer: `.ci/deps test` on a machine without pgbouncer installs it. (Its check once
// found the script's own shell function named pgbouncer, and installed nothing.) It runs the script dry, with a
// PATH that has no pgbouncer, where the machine has none in /usr/sbin either.
func TestDeps_InstallsMissingPgbouncer(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/usr/sbin/pgbouncer"); err == nil {
		t.Skip("this machine has /usr/sbin/pgbouncer, which the script finds whatever PATH says")
	}
	bin := t.TempDir()
	for _, tool := range []string{"sh", "dpkg-query", "sed", "ls", "go", "gcc", "curl", "id", "cat", "dirname", "apt-get"} {
		if p, err := exec.LookPath(tool); err == nil {
			if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil {
				t.Fatal(err)
			}
		}
	}
	cmd := exec.Command("sh", "../../.ci/deps", "test")
	cmd.Env = []string{"PATH=" + bin, "DRY_RUN=1", "ASSUME_MISSING=", "CITUS_DIR=" + t.TempDir(), "HOME=" + t.TempDir()}
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), "pgbouncer not found") || !strings.Contains(string(out), "--no-install-recommends pgbouncer") {
		t.Fatalf(".ci/deps test did not install the missing pgbouncer; it printed:\n%s", out)
	}
}
