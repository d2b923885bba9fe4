package pglocal

import (
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// serverUser returns the credential to run initdb and pg_ctl with: nil (this process's user) unless we are root,
// which PostgreSQL refuses ("cannot be run as root"); then the postgres OS user that the distribution packages
// create.
func serverUser() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pglocal: running as root, which PostgreSQL refuses, and there is no \"postgres\" "+
			"OS user to run it as (%w): create one (useradd --system postgres) or run as a non-root user", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pglocal: postgres OS user: uid %q: %w", u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pglocal: postgres OS user: gid %q: %w", u.Gid, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// makeSearchable gives others search permission (o+x, which lets them pass through but not list) on dir and each
// of its ancestors that lacks it, so that the postgres OS user can reach a cluster directory made by root, for
// example under a 0700 os.MkdirTemp directory or /root.
func makeSearchable(dir string) error {
	for {
		info, err := os.Stat(dir)
		if err != nil {
			return fmt.Errorf("pglocal: %w", err)
		}
		if info.Mode().Perm()&0o001 == 0 {
			mode := info.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
			if err := os.Chmod(dir, mode|0o001); err != nil {
				return fmt.Errorf("pglocal: let the postgres OS user reach the cluster: %w", err)
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil
		}
		dir = parent
	}
}
