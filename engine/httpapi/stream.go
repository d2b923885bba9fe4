package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"pgtenant/engine/query"
	"pgtenant/engine/tenant"
	"pgtenant/schema"
)

// Sizes of a streamed read's hand-off: rows are appended to the spool in
// batches of streamBatch bytes; once streamAfter bytes wait there the client
// is served from a goroutine of its own while rows still arrive (the first
// byte leaves before the last row is read); a smaller answer is written
// after the connection is released, from the handler. copyChunk is what one
// write to the client takes out of the spool.
const (
	streamBatch = 32 << 10
	streamAfter = 64 << 10
	copyChunk   = 64 << 10
)

// batches recycles the row batches of streamed reads: most answers fit in
// one, which is then the whole body.
var batches = sync.Pool{New: func() any { b := make([]byte, 0, streamBatch+8<<10); return &b }}

// stream answers a read whose response is a plain JSON array (q.Streams):
// the rows PostgreSQL returns are handed to the client as they arrive, so a
// large result never sits whole in memory and the first bytes leave before
// the last row is read. The statement counts its rows in every row
// (query.RowsSQL), so the status and Content-Range go out with the first
// one. The body is the same JSON array json_agg would build.
//
// The rows go through a spool (spool.go), never straight from the
// connection to the client: the transaction ends and the connection goes
// back to the pool once PostgreSQL has sent the last row, however slowly the
// client reads (four clients that read nothing used to hold the
// whole pool). The client is then written to at its own pace, each write
// bounded by WriteTimeout. The request's deadline (RequestTimeout) bounds
// the statement and the rows' way into the spool, never the client's
// reading: a large answer to a slow but steady client is not cut off by it.
//
// stream returns the response value; render runs its writer.
//
// PostgreSQL reads every row before it sends the first, so an error of the
// statement arrives before anything is written and gets the usual error
// response. Past the first row only the connection can fail (the client or
// the database went away, the client stalled past WriteTimeout); the
// response is then cut off, never completed, so that the client sees a
// broken response rather than a short array.
func (s *Server) stream(ctx context.Context, req *request, q *query.Query, b tenant.Binding, role *schema.Role) *response {
	return &response{stream: func(w http.ResponseWriter, head func(*response)) error {
		return s.streamRows(ctx, w, head, req, q, b, role)
	}}
}

// streamRows runs the statement of a streamed read and writes its rows to w,
// the status and headers first (head) with the first row. An error returned
// before head ran gets the usual error answer; one returned after it cuts
// the answer off.
func (s *Server) streamRows(ctx context.Context, w http.ResponseWriter, head func(*response), req *request, q *query.Query,
	b tenant.Binding, role *schema.Role) error {
	sql, args := q.RowsSQL()
	started := false // the status and headers are sent
	bp := batches.Get().(*[]byte)
	batch := (*bp)[:0]     // rows not yet spooled
	var sp *spool          // made once the rows outgrow one batch
	var copying chan error // set once the client is served from a goroutine of its own
	defer func() {
		if cap(batch) <= 4*streamBatch { // a row of megabytes does not stay
			*bp = batch[:0]
			batches.Put(bp)
		}
		if sp != nil {
			sp.release()
		}
	}()
	start := func(n int64) error {
		rules, err := query.Respond(q.Facts(), query.Result{PageTotal: n})
		if err != nil {
			return err
		}
		head(&response{status: rules.Status, media: contentJSON, header: http.Header{"Content-Range": {rules.ContentRange}}})
		started = true
		return nil
	}
	err := s.cfg.Runner.Query(ctx, s.scope(ctx, req, b, role), func(rows pgx.Rows) error {
		for rows.Next() {
			if !started {
				var n int64
				if err := rows.Scan(&n, nil); err != nil {
					return err
				}
				if err := start(n); err != nil {
					return err
				}
				batch = append(batch, '[')
			} else {
				batch = append(batch, ',')
			}
			batch = append(batch, rows.RawValues()[1]...)
			if len(batch) < streamBatch {
				continue
			}
			if sp == nil {
				sp = newSpool(s.cfg.SpoolDir)
			}
			if err := sp.write(batch); err != nil {
				return err
			}
			batch = batch[:0]
			if copying == nil && sp.pending() >= streamAfter {
				copying = make(chan error, 1)
				go func() { copying <- s.copyOut(w, sp) }()
			}
		}
		if err := rows.Err(); err != nil || !started {
			return err
		}
		batch = append(batch, ']')
		if sp == nil {
			return nil // the whole answer is in batch
		}
		return sp.write(batch)
	}, sql, args...)
	// The connection is back in the pool: from here on only the client waits.
	switch {
	case err != nil && !started:
		return err
	case !started:
		if err := start(0); err != nil {
			return err
		}
		_, _ = w.Write(emptyArray)
		return nil
	case sp == nil && err == nil:
		_, _ = w.Write(batch) // a small answer; a client that cannot take it ends the response (WriteTimeout)
		return nil
	case sp != nil:
		sp.finish(err)
		switch {
		case err != nil && copying != nil:
			<-copying
		case err != nil:
		case copying != nil:
			err = <-copying
		default:
			err = s.copyOut(w, sp)
		}
	}
	return err
}

// copyOut writes what sp holds to the client as it comes, each write bounded
// by WriteTimeout, flushing whenever the spool has nothing more ready, until
// the writer is done. If the client fails a write (it went away, or read
// nothing for WriteTimeout), the spool refuses further rows with that error.
func (s *Server) copyOut(w http.ResponseWriter, sp *spool) error {
	rc := http.NewResponseController(w)
	buf := make([]byte, min(copyChunk, max(sp.pending(), 1)))
	for {
		n, more, err := sp.next(buf)
		if n > 0 {
			if s.cfg.WriteTimeout > 0 {
				_ = rc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
			}
			_, werr := w.Write(buf[:n])
			if werr == nil && !more {
				if ferr := rc.Flush(); !errors.Is(ferr, http.ErrNotSupported) {
					werr = ferr
				}
			}
			if werr != nil {
				sp.fail(werr)
				return werr
			}
		}
		if err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

var emptyArray = []byte("[]")
