package schema

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestUnseenCalls checks the cross-check of PL/pgSQL bodies: a call the lexer sees but the parse tree's checks
// did not count is refused, once per call; calls in strings and comments are not calls.
func TestUnseenCalls(t *testing.T) {
	text := "BEGIN PERFORM set_config('a', 'b', true); -- set_config(\n RETURN 'set_role(' || \"SET_ROLE\"(1); END"
	tests := []struct {
		name  string
		calls map[string]int
		want  int
	}{
		{"tree saw every call", map[string]int{"set_config": 1, "set_role": 1}, 0},
		{"tree missed one", map[string]int{"set_config": 1}, 1},
		{"tree saw nothing", map[string]int{}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &bodyCheck{text: text, calls: tt.calls}
			b.unseenCalls()
			assert.Len(t, b.out, tt.want)
		})
	}
}
