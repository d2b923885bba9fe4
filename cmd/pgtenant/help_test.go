package main

import (
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// everyCommand lists every command and action by its words: "validate", "tenant create", …
func everyCommand() [][]string {
	var out [][]string
	for _, c := range commands() {
		out = append(out, []string{c.name})
		for _, a := range c.actions {
			out = append(out, strings.Fields(a.name))
		}
	}
	return out
}

// TestHelp_EveryCommand: `CMD --help`, `CMD -h` and `pgtenant help CMD` print that command's usage on stdout and
// exit 0, for every command and action; the usage names every flag the command takes and every setting it
// reads.
func TestHelp_EveryCommand(t *testing.T) {
	t.Parallel()
	env := cliEnv{}
	for _, words := range everyCommand() {
		name := strings.Join(words, " ")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, rest, ok := lookup(words)
			require.True(t, ok)
			require.Empty(t, rest)
			code, stdout, stderr := pgtenant(t, env, append(slices.Clone(words), "--help")...)
			require.Equal(t, exitOK, code, stderr)
			assert.Empty(t, stderr)
			if name == "help" {
				assert.Contains(t, stdout, "Commands:")
				return
			}
			assert.True(t, strings.HasPrefix(stdout, "Usage: pgtenant "+name), stdout)
			assert.Contains(t, stdout, c.summary[:min(len(c.summary), 30)])
			assert.Contains(t, stdout, "-h, --help")
			for _, s := range c.env {
				assert.Regexp(t, `(?m)^  --`+flagName(s)+` +`+s+`: `, stdout, "the usage lists the setting %s, flag and variable", s)
			}
			for _, args := range [][]string{append(slices.Clone(words), "-h"), append([]string{"help"}, words...)} {
				code, again, _ := pgtenant(t, env, args...)
				assert.Equal(t, exitOK, code, args)
				assert.Equal(t, stdout, again, "%v prints the same usage", args)
			}
			// Every flag in the usage is in the command's synopsis, as the top-level usage shows it.
			for _, flag := range usageFlags(stdout) {
				assert.Contains(t, c.args, flag, "the synopsis of %s names its flag %s", name, flag)
			}
		})
	}
}

var flagRE = regexp.MustCompile(`(?m)^  (--?[a-z][a-z-]*)`)

// usageFlags returns the flags a command's usage lists under "Flags:", but -h/--help.
func usageFlags(usage string) []string {
	_, section, _ := strings.Cut(usage, "\nFlags:\n")
	section, _, _ = strings.Cut(section, "\n\n")
	var out []string
	for _, m := range flagRE.FindAllStringSubmatch(section, -1) {
		if m[1] != "-h" {
			out = append(out, strings.TrimLeft(m[1], "-"))
		}
	}
	return out
}

// TestHelp_TopLevel: the top-level usage lists every command and action with its flags, and every setting.
func TestHelp_TopLevel(t *testing.T) {
	t.Parallel()
	env := cliEnv{}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		code, stdout, stderr := pgtenant(t, env, args...)
		require.Equal(t, exitOK, code)
		assert.Empty(t, stderr)
		for _, words := range everyCommand() {
			c, _, _ := lookup(words)
			if len(c.actions) > 0 {
				continue // listed by its actions
			}
			assert.Regexp(t, `(?m)^  `+regexp.QuoteMeta(strings.TrimSpace(c.name+" "+c.args))+`( |$)`, stdout)
		}
		for _, s := range settings {
			assert.Regexp(t, `(?m)^  --`+flagName(s.name)+` +`+s.name+`: `, stdout)
		}
	}
	code, _, stderr := pgtenant(t, env)
	assert.Equal(t, exitUsage, code, "no command is a usage error")
	assert.Contains(t, stderr, "Commands:")
}

// TestHelp_RLSDisable: the flag's text reads as written (Go's flag package would take a `quoted` word in it
// for the value's name).
func TestHelp_RLSDisable(t *testing.T) {
	t.Parallel()
	env := cliEnv{}
	_, stdout, _ := pgtenant(t, env, "rls", "disable", "--help")
	assert.Contains(t, stdout, "  --table T ")
	assert.Regexp(t, `(?m)^  --i-understand +confirm that, until row-level security is enabled again`, stdout)
}

// TestHelp_WithBadConfig: a usage is shown even when the configuration is invalid.
func TestHelp_WithBadConfig(t *testing.T) {
	t.Parallel()
	env := cliEnv{"REQUIRE_TENANT": "maybe"}
	code, stdout, _ := pgtenant(t, env, "serve", "--help")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stdout, "REQUIRE_TENANT")
	code, _, stderr := pgtenant(t, env, "serve")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "REQUIRE_TENANT: want true or false")
}

func TestVersion(t *testing.T) {
	t.Parallel()
	env := cliEnv{}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, stdout, stderr := pgtenant(t, env, args...)
		require.Equal(t, exitOK, code, stderr)
		assert.Regexp(t, `^pgtenant \S+ \(commit \S+, go1\.\d+`, stdout)
		assert.Contains(t, stdout, runtime.Version())
	}
	b := readBuildInfo()
	assert.NotEmpty(t, b.Version)
	assert.Equal(t, runtime.Version(), b.GoVersion)
}

// TestSettings_Read: every setting the configuration reads is in settings, so the usage texts list it and the
// commands have its flag, and LoadConfig reads every setting.
func TestSettings_Read(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("config.go")
	require.NoError(t, err)
	read := map[string]bool{}
	for _, m := range regexp.MustCompile(`"([A-Z][A-Z0-9_]+)"`).FindAllStringSubmatch(string(src), -1) {
		read[m[1]] = true
	}
	var names []string
	for _, s := range settings {
		names = append(names, s.name)
		assert.True(t, read[s.name], "LoadConfig reads %s", s.name)
	}
	for name := range read {
		assert.Contains(t, names, name, "config.go reads %s: list it in settings", name)
	}
}

// TestREADME_Settings: README's Configuration table lists exactly the settings, in the same order.
func TestREADME_Settings(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(readme), "\n## Configuration\n")
	require.True(t, ok)
	section, _, _ = strings.Cut(section, "\n## ")
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([A-Z][A-Z0-9_]+)` \\|").FindAllStringSubmatch(section, -1) {
		documented = append(documented, m[1])
	}
	var names []string
	for _, s := range settings {
		names = append(names, s.name)
	}
	assert.Equal(t, names, documented)
}
