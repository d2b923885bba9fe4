package main

import (
	"context"
	"fmt"
	"runtime/debug"
)

// version is pgtenant's release version, set when a release is built:
//
//	go build -ldflags "-X main.version=v1.2.3" ./cmd/pgtenant
//
// (`make build` sets it from `git describe`). Unset, the version Go recorded for the main module is used: the
// module version for `go install pgtenant/cmd/pgtenant@v1.2.3`, "(devel)" for a build from a source tree.
var version string

// commit is the VCS revision the binary was built from, set with -ldflags "-X main.commit=…" where Go cannot
// record it (a build without .git, such as deploy/Dockerfile's); otherwise vcs.revision is read.
var commit string

// buildInfo is what `pgtenant version` prints and pgtenant_build_info carries.
type buildInfo struct {
	Version   string // the release, or Go's module version, or "unknown"
	Commit    string // the VCS revision the binary was built from, "+dirty" when the tree had changes; "" when unknown
	GoVersion string // the Go toolchain that built it
}

// readBuildInfo reads the version, commit and Go version from the binary: -ldflags first, then what the Go
// toolchain recorded (runtime/debug.ReadBuildInfo: the module version, vcs.revision, vcs.modified).
func readBuildInfo() buildInfo {
	b := buildInfo{Version: version, Commit: commit}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		if b.Version == "" {
			b.Version = "unknown"
		}
		return b
	}
	b.GoVersion = bi.GoVersion
	if b.Version == "" {
		b.Version = bi.Main.Version
	}
	if b.Version == "" {
		b.Version = "unknown"
	}
	if b.Commit != "" {
		return b
	}
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if b.Commit != "" && dirty {
		b.Commit += "+dirty"
	}
	return b
}

func (b buildInfo) String() string {
	commit := b.Commit
	if commit == "" {
		commit = "unknown"
	}
	return fmt.Sprintf("pgtenant %s (commit %s, %s)", b.Version, commit, b.GoVersion)
}

func cmdVersion(_ context.Context, e *env, args []string) int {
	fs := newFlags(e, "version", "")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(fs, e, "unexpected argument %q", fs.Arg(0))
	}
	fmt.Fprintln(e.stdout, readBuildInfo())
	return exitOK
}
