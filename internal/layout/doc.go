// Package layout holds no code: its test enforces the import rules of
// STYLE.md §1 (what each package may depend on), so that the data flow the
// directory tree shows stays true; that only main reads the environment; and
// that engine/introspect is the one reader of the live catalog.
package layout
