package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// drain reads sp to its end.
func drain(sp *spool, chunk int) ([]byte, error) {
	var out bytes.Buffer
	buf := make([]byte, chunk)
	for {
		n, _, err := sp.next(buf)
		out.Write(buf[:n])
		if err == io.EOF {
			return out.Bytes(), nil
		}
		if err != nil {
			return out.Bytes(), err
		}
	}
}

// TestSpool_Order: what is written comes out in order, whether it waited in
// memory or in the file, read concurrently or after the writer is done, and
// the file (removed at once) leaves nothing in the directory.
func TestSpool_Order(t *testing.T) {
	for _, concurrent := range []bool{false, true} {
		t.Run(fmt.Sprint("concurrent=", concurrent), func(t *testing.T) {
			dir := t.TempDir()
			sp := newSpool(dir)
			defer sp.release()
			var want bytes.Buffer
			got := make(chan []byte, 1)
			if concurrent {
				go func() { b, _ := drain(sp, 7000); got <- b }()
			}
			for i := range 5000 {
				p := bytes.Repeat([]byte{byte('a' + i%26)}, 1+i%300)
				want.Write(p)
				require.NoError(t, sp.write(p))
			}
			require.Greater(t, want.Len(), spoolMemory, "the file is used")
			sp.finish(nil)
			if !concurrent {
				b, err := drain(sp, 7000)
				require.NoError(t, err)
				got <- b
			}
			assert.True(t, bytes.Equal(want.Bytes(), <-got))
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Empty(t, entries)
		})
	}
}

// TestSpool_Failures: a writer's error reaches the reader at once; a
// reader that gives up makes the next write fail.
func TestSpool_Failures(t *testing.T) {
	sp := newSpool(t.TempDir())
	defer sp.release()
	require.NoError(t, sp.write([]byte("[1")))
	boom := errors.New("boom")
	sp.finish(boom)
	_, err := drain(sp, 10)
	assert.ErrorIs(t, err, boom)

	sp = newSpool(t.TempDir())
	defer sp.release()
	gone := errors.New("client gone")
	sp.fail(gone)
	assert.ErrorIs(t, sp.write([]byte("x")), gone)
}

// TestSpool_ReusesDrainedFile: once everything in the file is read, new
// bytes go to memory again, and the file starts over.
func TestSpool_ReusesDrainedFile(t *testing.T) {
	sp := newSpool(t.TempDir())
	defer sp.release()
	big := bytes.Repeat([]byte("x"), spoolMemory+1)
	require.NoError(t, sp.write(big))
	require.NotNil(t, sp.file)
	b := make([]byte, len(big))
	n, more, err := sp.next(b)
	require.NoError(t, err)
	assert.Equal(t, len(big), n)
	assert.False(t, more)
	require.NoError(t, sp.write([]byte("y")))
	assert.Equal(t, 1, sp.mem.Len(), "back to memory")
	assert.Zero(t, sp.wOff)
}
