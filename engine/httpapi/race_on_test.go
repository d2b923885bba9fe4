//go:build race

package httpapi_test

// raceEnabled reports whether the race detector is on: long tests scale
// themselves down under it.
const raceEnabled = true
