package pgtest

import (
	"encoding/binary"
	"net"
	"sync"
	"time"
)

// cancelRequestCode follows the length of every PostgreSQL cancel request.
const cancelRequestCode = 80877102

// LateCancels wraps a connection to PostgreSQL so that a cancel request
// written to it reaches the server only after delay, as one does when the
// postmaster is slow to fork for it under load: the write returns at once and
// the bytes leave later, whatever deadline or Close came meanwhile. Anything
// else passes through. Use it in a pool's DialFunc to test what a late cancel
// request can end.
func LateCancels(c net.Conn, delay time.Duration) net.Conn {
	return &lateCancelConn{Conn: c, delay: delay}
}

type lateCancelConn struct {
	net.Conn
	delay time.Duration
	sent  sync.WaitGroup
}

func (c *lateCancelConn) Write(b []byte) (int, error) {
	if len(b) >= 8 && binary.BigEndian.Uint32(b[4:8]) == cancelRequestCode {
		msg := append([]byte(nil), b...)
		c.sent.Go(func() {
			time.Sleep(c.delay)
			_ = c.Conn.SetWriteDeadline(time.Time{})
			_, _ = c.Conn.Write(msg)
		})
		return len(b), nil
	}
	return c.Conn.Write(b)
}

// Close closes the connection once a late cancel request has left and
// PostgreSQL had a moment to read it.
func (c *lateCancelConn) Close() error {
	go func() {
		c.sent.Wait()
		time.Sleep(100 * time.Millisecond)
		_ = c.Conn.Close()
	}()
	return nil
}
