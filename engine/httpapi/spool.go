package httpapi

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"os"
	"sync"
)

// spoolMemory is how many unread bytes of a response a spool keeps in
// memory; past that they wait in a temporary file.
const spoolMemory = 256 << 10

// spool is the buffer between a streamed read and its client (stream.go):
// the handler appends the rows as pgx reads them, and releases the database
// connection after the last one, however slowly the client reads; the
// client's side takes them out at its own pace. Up to spoolMemory unread
// bytes stay in memory, the rest in a temporary file of dir that is removed
// as soon as it is created (the open file keeps its space until release), so
// a crash leaves nothing behind. One goroutine writes, one reads.
type spool struct {
	dir string

	mu    sync.Mutex
	ready sync.Cond // signalled when bytes are appended, the writer is done or the reader gives up
	mem   bytes.Buffer
	// file, once created, holds the unread bytes [rOff, wOff): they follow
	// those of mem. Once both are read, it is reused from offset 0.
	file       *os.File
	rOff, wOff int64
	done       bool  // the writer appended its last bytes
	err        error // why the writer stopped early, when done; the reader stops at once
	gone       error // why the reader gave up: appends fail with it
}

func newSpool(dir string) *spool {
	sp := &spool{dir: dir}
	sp.ready.L = &sp.mu
	return sp
}

// write appends p. It fails when the reader gave up (the client went away
// or stalled past the write timeout), or when the file cannot be written.
func (sp *spool) write(p []byte) error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.gone != nil {
		return sp.gone
	}
	if sp.file != nil && sp.rOff == sp.wOff {
		sp.rOff, sp.wOff = 0, 0
	}
	if sp.wOff == 0 && sp.mem.Len()+len(p) <= spoolMemory {
		sp.mem.Write(p)
	} else {
		if sp.file == nil {
			f, err := os.CreateTemp(sp.dir, "pgtenant-response-*")
			if err != nil {
				return fmt.Errorf("httpapi: spool a response: %w", err)
			}
			_ = os.Remove(f.Name()) // the open file keeps its data
			sp.file = f
		}
		n, err := sp.file.WriteAt(p, sp.wOff)
		sp.wOff += int64(n)
		if err != nil {
			return fmt.Errorf("httpapi: spool a response: %w", err)
		}
	}
	sp.ready.Signal()
	return nil
}

// finish says the writer is done: err is nil after the last bytes, else why
// the response cannot be completed.
func (sp *spool) finish(err error) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.done, sp.err = true, err
	sp.ready.Broadcast()
}

// fail says the reader gave up, for the reason err.
func (sp *spool) fail(err error) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.gone = err
}

// pending is how many bytes are appended and not yet read.
func (sp *spool) pending() int64 {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return int64(sp.mem.Len()) + sp.wOff - sp.rOff
}

// next waits for unread bytes and copies some into buf; more reports that
// others are ready already. When the writer is done and everything is read,
// it returns io.EOF, or at once the writer's error.
func (sp *spool) next(buf []byte) (n int, more bool, err error) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	for sp.mem.Len() == 0 && sp.rOff == sp.wOff && !sp.done {
		sp.ready.Wait()
	}
	switch {
	case sp.done && sp.err != nil:
		return 0, false, sp.err
	case sp.mem.Len() > 0:
		n, _ = sp.mem.Read(buf)
	case sp.rOff < sp.wOff:
		n, err = sp.file.ReadAt(buf[:min(int64(len(buf)), sp.wOff-sp.rOff)], sp.rOff)
		sp.rOff += int64(n)
		if err != nil && n > 0 {
			err = nil // io.EOF at the end of what was written
		}
	default:
		return 0, false, cmp.Or(sp.err, io.EOF)
	}
	return n, sp.mem.Len() > 0 || sp.rOff < sp.wOff, err
}

// release gives back the file's space.
func (sp *spool) release() {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.file != nil {
		_ = sp.file.Close()
		sp.file = nil
	}
}
