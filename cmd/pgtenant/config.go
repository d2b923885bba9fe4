package main

import (
	"fmt"
	"net/url"
	"os"
)

// Config is everything pgtenant reads from its environment. Only this
// package reads environment variables; components receive plain values.
type Config struct {
	PoliciesFile     string // POLICIES_FILE: the declaration (a file or a directory of *.hcl)
	MigrationsDir    string // MIGRATIONS_DIR: the generated migrations
	AdminDatabaseURL string // ADMIN_DATABASE_URL: the owner connection for migrate
	DataDir          string // PGTENANT_DATA_DIR: where `dev` keeps its private PostgreSQL
}

// DefaultConfig is the configuration with nothing set.
func DefaultConfig() Config {
	return Config{
		PoliciesFile:  "policies.hcl",
		MigrationsDir: "migrations",
		DataDir:       ".pgtenant",
	}
}

// LoadConfig reads the environment over the defaults and returns one line per
// problem found.
func LoadConfig() (Config, []string) {
	c := DefaultConfig()
	for name, field := range map[string]*string{
		"POLICIES_FILE":      &c.PoliciesFile,
		"MIGRATIONS_DIR":     &c.MigrationsDir,
		"ADMIN_DATABASE_URL": &c.AdminDatabaseURL,
		"PGTENANT_DATA_DIR":  &c.DataDir,
	} {
		if v, ok := os.LookupEnv(name); ok && v != "" {
			*field = v
		}
	}
	return c, c.Validate()
}

// Validate returns one line per problem, each saying what to fix.
func (c Config) Validate() []string {
	var problems []string
	if c.AdminDatabaseURL != "" {
		if u, err := url.Parse(c.AdminDatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			problems = append(problems, fmt.Sprintf(
				"ADMIN_DATABASE_URL: want a URL like postgres://owner:password@127.0.0.1:5432/app, got %q", redact(c.AdminDatabaseURL)))
		}
	}
	return problems
}

// redact hides a URL's password so that it can be printed.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(a URL that does not parse)"
	}
	if u.User == nil {
		return s
	}
	return u.Redacted()
}
