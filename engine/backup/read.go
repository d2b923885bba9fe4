package backup

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
)

// maxLine bounds the header, trailer and marker lines (never rows): a file whose line is longer is refused
// rather than read into memory.
const maxLine = 16 << 20

// Verify reads a whole backup from r and checks it without a database: the format and its version, the
// structure, each table's row count and SHA-256 against the manifest, the trailer against the header, the whole
// file's SHA-256, and its origin as trust says (its HMAC, with trust.Key). It reads in constant memory and returns
// the manifest, Authenticated when the HMAC was verified. Returns an error wrapping ErrUnsupported, ErrCorrupt or
// ErrTruncated when the file is not good, ErrForged when its HMAC does not verify, and ErrUnauthenticated when its
// origin cannot be verified and trust does not allow that.
func Verify(r io.Reader, trust Trust) (*Manifest, error) {
	return read(context.Background(), r, trust, nil, func(Table, io.Reader) (int64, error) { return -1, nil })
}

// read parses a backup. check, when not nil, sees the header's manifest before any rows; load is given each
// table's rows (COPY text) in file order, and returns how many rows it took (-1: it did not count them). read
// drains what load leaves. When check or load fails, read goes on verifying the file without them: a damaged
// file is reported as ErrCorrupt even when the database refused its rows first, and otherwise their error is
// returned. It stops at once when ctx ends.
//
// What trust refuses is refused from the header, before check or load see anything, where the header tells
// (ErrUnauthenticated, or ErrForged for another key's file); the HMAC itself is verified at the end, before any
// error of check or load is returned.
func read(ctx context.Context, r io.Reader, trust Trust, check func(*Manifest) error,
	load func(Table, io.Reader) (int64, error)) (*Manifest, error) {
	p := &parser{br: bufio.NewReaderSize(r, bufferSize), file: &sums{sha: sha256.New()}}
	line, err := p.line(true)
	if errors.Is(err, ErrTruncated) {
		return nil, fmt.Errorf("%w: not a pgtenant backup (no header line)", ErrUnsupported)
	}
	if err != nil {
		return nil, err
	}
	var h header
	if err := json.Unmarshal(line, &h); err != nil || h.Format != Format {
		return nil, fmt.Errorf("%w: not a pgtenant backup (the first line is not its header)", ErrUnsupported)
	}
	if h.FormatVersion != FormatVersion && h.FormatVersion != 1 {
		return nil, fmt.Errorf("%w: format version %d (this pgtenant reads versions 1 and %d)", ErrUnsupported,
			h.FormatVersion, FormatVersion)
	}
	if p.file.mac, err = trust.checkHeader(h); err != nil {
		return nil, err
	}
	if p.file.mac != nil { // the header line was read before the key was known
		p.file.mac.Write(line)
		p.file.mac.Write([]byte{'\n'})
	}
	m := h.manifest()
	var failed error // the first error of check or load; the file is still read to the end
	if check != nil {
		failed = check(m)
	}
	for i := range m.Tables {
		t := &m.Tables[i]
		line, err := p.line(true)
		if err != nil {
			return nil, within(err, "before table "+t.Name)
		}
		var s sectionLine
		if json.Unmarshal(line, &s) != nil || s.Table != t.Name {
			return nil, fmt.Errorf("%w: where the rows of table %s should start, the file has something else", ErrCorrupt, t.Name)
		}
		sec := &section{br: p.br, file: p.file, sum: sha256.New(), lineStart: true}
		if failed != nil && ctx.Err() != nil {
			return nil, failed
		}
		loaded := int64(-1)
		if failed == nil {
			loaded, failed = load(*t, sec)
		}
		if _, err := io.Copy(io.Discard, sec); err != nil {
			return nil, within(err, "in the rows of table "+t.Name)
		}
		if failed == nil && loaded >= 0 && loaded != sec.rows {
			failed = fmt.Errorf("%w: table %s: %d rows were loaded from %d lines", ErrCorrupt, t.Name, loaded, sec.rows)
		}
		t.Rows, t.SHA256 = sec.rows, hex.EncodeToString(sec.sum.Sum(nil))
		m.Rows += sec.rows
	}
	line, err = p.line(true)
	if err != nil {
		return nil, within(err, "before the manifest")
	}
	var trailer Manifest
	if err := json.Unmarshal(line, &trailer); err != nil {
		return nil, fmt.Errorf("%w: the manifest after the rows does not parse", ErrCorrupt)
	}
	if !trailer.header().equal(h) {
		return nil, fmt.Errorf("%w: the manifest after the rows does not match the header", ErrCorrupt)
	}
	for i, t := range m.Tables {
		want := trailer.Tables[i]
		if t.Rows != want.Rows {
			return nil, fmt.Errorf("%w: table %s has %d rows, its manifest says %d", ErrCorrupt, t.Name, t.Rows, want.Rows)
		}
		if t.SHA256 != want.SHA256 {
			return nil, fmt.Errorf("%w: the SHA-256 of table %s's rows does not match its manifest", ErrCorrupt, t.Name)
		}
	}
	if trailer.Rows != m.Rows {
		return nil, fmt.Errorf("%w: the manifest counts %d rows, the tables hold %d", ErrCorrupt, trailer.Rows, m.Rows)
	}
	sum := hex.EncodeToString(p.file.sha.Sum(nil))
	line, err = p.line(false)
	if err != nil {
		return nil, within(err, "before the file's checksum")
	}
	var c checksumLine
	if json.Unmarshal(line, &c) != nil || c.SHA256 != sum {
		return nil, fmt.Errorf("%w: the file's SHA-256 does not match its last line", ErrCorrupt)
	}
	if _, err := p.br.ReadByte(); err != io.EOF {
		if err == nil {
			return nil, fmt.Errorf("%w: there is data after the file's checksum", ErrCorrupt)
		}
		return nil, fmt.Errorf("backup: read: %w", err)
	}
	switch {
	case h.MAC != "" && c.HMAC == "":
		return nil, fmt.Errorf("%w: the header announces an HMAC, the last line has none", ErrCorrupt)
	case h.MAC == "" && c.HMAC != "":
		return nil, fmt.Errorf("%w: the last line has an HMAC the header does not announce", ErrCorrupt)
	case p.file.mac != nil:
		got, err := hex.DecodeString(c.HMAC)
		if err != nil || !hmac.Equal(got, p.file.mac.Sum(nil)) {
			return nil, fmt.Errorf("%w: the file was changed after it was written", ErrForged)
		}
		m.Authenticated = true
	}
	if failed != nil {
		return nil, failed
	}
	return m, nil
}

// sums hashes a file's bytes: its SHA-256 and, for a file authenticated with a Key, its HMAC.
type sums struct {
	sha, mac hash.Hash // mac nil: none
}

func (s *sums) Write(b []byte) (int, error) {
	s.sha.Write(b)
	if s.mac != nil {
		s.mac.Write(b)
	}
	return len(b), nil
}

// within adds where a truncation or damage was found.
func within(err error, where string) error {
	if errors.Is(err, ErrCorrupt) {
		return fmt.Errorf("%w (%s)", err, where)
	}
	return err
}

// parser reads a backup's lines, hashing every byte it reads before the final line.
type parser struct {
	br   *bufio.Reader
	file *sums
}

// line reads one marker or manifest line, without its "\n"; hashed says whether it counts in the file's SHA-256.
func (p *parser) line(hashed bool) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := p.br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > maxLine {
			return nil, fmt.Errorf("%w: a line longer than %d bytes where a manifest line was expected", ErrCorrupt, maxLine)
		}
		switch {
		case err == nil:
			if hashed {
				p.file.Write(buf)
			}
			return buf[:len(buf)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return nil, ErrTruncated
		default:
			return nil, fmt.Errorf("backup: read: %w", err)
		}
	}
}

// section reads one table's rows: COPY text up to, and not including, the "\." line, which it consumes. It hashes
// what it reads into the table's and the file's SHA-256 and counts the lines.
type section struct {
	br        *bufio.Reader
	file      *sums
	sum       hash.Hash
	rows      int64
	lineStart bool  // the next byte starts a line
	done      bool  // the end marker was read
	err       error // the file ended or failed inside the section
}

func (s *section) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && !s.done && s.err == nil {
		if s.lineStart {
			b, err := s.br.Peek(len(endOfRows))
			if bytes.Equal(b, endOfRows) {
				s.br.Discard(len(endOfRows)) //nolint:errcheck // the bytes are buffered
				s.file.Write(endOfRows)
				s.done = true
				break
			}
			if len(b) == 0 {
				s.err = truncated(err)
				break
			}
		}
		if s.br.Buffered() == 0 {
			if _, err := s.br.Peek(1); err != nil {
				s.err = truncated(err)
				break
			}
		}
		chunk, _ := s.br.Peek(min(len(p)-n, s.br.Buffered()))
		s.lineStart = false
		if i := bytes.IndexByte(chunk, '\n'); i >= 0 {
			chunk = chunk[:i+1]
			s.lineStart = true
			s.rows++
		}
		copy(p[n:], chunk)
		s.sum.Write(chunk)
		s.file.Write(chunk)
		n += len(chunk)
		s.br.Discard(len(chunk)) //nolint:errcheck // the bytes are buffered
	}
	switch {
	case n > 0:
		return n, nil
	case s.err != nil:
		return 0, s.err
	default:
		return 0, io.EOF
	}
}

// truncated is ErrTruncated for the end of the file, and a read error otherwise.
func truncated(err error) error {
	if err == nil || errors.Is(err, io.EOF) {
		return ErrTruncated
	}
	return fmt.Errorf("backup: read: %w", err)
}
