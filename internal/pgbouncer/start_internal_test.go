package pgbouncer

import (
	"net"
	"net/url"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStart_PortTaken: another process takes the port after configure picked it. A connection to the port then
// succeeds, but it reaches the other process: start must see that PgBouncer did not bind it, and say so, rather
// than hand the test someone else's server.
func TestStart_PortTaken(t *testing.T) {
	bin, err := Binary()
	if err != nil {
		if os.Getenv("PGTEST_REQUIRED") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	up, err := url.Parse("postgres://u:p@127.0.0.1:1/db")
	require.NoError(t, err)
	s := &Server{dir: t.TempDir()}
	require.NoError(t, s.configure(up, Options{Users: map[string]string{"u": "p"}}))
	other, err := net.Listen("tcp", s.Addr)
	require.NoError(t, err)
	defer other.Close()

	err = s.start(t.Context(), bin)
	assert.ErrorIs(t, err, errPortTaken)
	assert.NoError(t, s.Stop())
}
