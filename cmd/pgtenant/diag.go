package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"pgtenant/schema"
)

// writeDiagnostics prints each diagnostic as a compiler-style
// "file:line:col: error: summary" line followed by hcl's source snippet and
// detail, so that both editors and people can use it.
func writeDiagnostics(w io.Writer, files schema.Files, diags hcl.Diagnostics) {
	for _, d := range explain(diags) {
		sev := "error"
		if d.Severity == hcl.DiagWarning {
			sev = "warning"
		}
		if d.Subject != nil {
			fmt.Fprintf(w, "%s:%d:%d: %s: %s\n", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column, sev, d.Summary)
		} else {
			fmt.Fprintf(w, "%s: %s\n", sev, d.Summary)
		}
		var buf bytes.Buffer
		if err := hcl.NewDiagnosticTextWriter(&buf, files, 0, false).WriteDiagnostic(d); err != nil {
			fmt.Fprintf(w, "  %s\n", d.Detail)
			continue
		}
		// hcl's writer starts with its own "Error: summary" line, which the
		// line above already says.
		text := buf.String()
		if i := strings.Index(text, "\n"); i >= 0 && strings.Contains(text[:i], d.Summary) {
			text = text[i+1:]
		}
		for _, line := range strings.Split(strings.Trim(text, "\n"), "\n") {
			if line == "" {
				fmt.Fprintln(w)
				continue
			}
			fmt.Fprintf(w, "  %s\n", strings.TrimPrefix(line, "  "))
		}
		fmt.Fprintln(w)
	}
	if n := len(diags.Errs()); n > 0 {
		fmt.Fprintf(w, "%d error(s) found.\n", n)
	}
}

// explain adds to the diagnostics of a missing declaration how to point pgtenant at it.
func explain(diags hcl.Diagnostics) hcl.Diagnostics {
	out := make(hcl.Diagnostics, len(diags))
	for i, d := range diags {
		if d.Summary == schema.SummaryNoDeclaration || d.Summary == schema.SummaryUnreadable {
			c := *d
			c.Detail = strings.TrimSuffix(c.Detail, ".") + ". Set POLICIES_FILE to the declaration (a file, or a " +
				"directory of *.hcl files), or run pgtenant in the directory that holds policies.hcl."
			d = &c
		}
		out[i] = d
	}
	return out
}

// The JSON layout of `terraform validate -json` (format_version 1.0), so that
// editors and CI tools that read Terraform's output read ours.
type jsonValidate struct {
	FormatVersion string     `json:"format_version"`
	Valid         bool       `json:"valid"`
	ErrorCount    int        `json:"error_count"`
	WarningCount  int        `json:"warning_count"`
	Diagnostics   []jsonDiag `json:"diagnostics"`
}

type jsonDiag struct {
	Severity string       `json:"severity"`
	Summary  string       `json:"summary"`
	Detail   string       `json:"detail"`
	Range    *jsonRange   `json:"range,omitempty"`
	Snippet  *jsonSnippet `json:"snippet,omitempty"`
}

type jsonRange struct {
	Filename string  `json:"filename"`
	Start    jsonPos `json:"start"`
	End      jsonPos `json:"end"`
}

type jsonPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

type jsonSnippet struct {
	Context              *string `json:"context"`
	Code                 string  `json:"code"`
	StartLine            int     `json:"start_line"`
	HighlightStartOffset int     `json:"highlight_start_offset"`
	HighlightEndOffset   int     `json:"highlight_end_offset"`
	Values               []any   `json:"values"`
}

func writeJSONDiagnostics(w io.Writer, files schema.Files, diags hcl.Diagnostics) error {
	out := jsonValidate{FormatVersion: "1.0", Diagnostics: []jsonDiag{}}
	for _, d := range explain(diags) {
		jd := jsonDiag{Severity: "error", Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagWarning {
			jd.Severity = "warning"
			out.WarningCount++
		} else {
			out.ErrorCount++
		}
		if r := d.Subject; r != nil {
			jd.Range = &jsonRange{
				Filename: r.Filename,
				Start:    jsonPos{r.Start.Line, r.Start.Column, r.Start.Byte},
				End:      jsonPos{r.End.Line, r.End.Column, r.End.Byte},
			}
			jd.Snippet = snippet(files[r.Filename], *r)
		}
		out.Diagnostics = append(out.Diagnostics, jd)
	}
	out.Valid = out.ErrorCount == 0
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// snippet is the source lines a range covers, with the highlighted part given
// as byte offsets into them, as Terraform reports it.
func snippet(f *hcl.File, r hcl.Range) *jsonSnippet {
	if f == nil || r.Start.Byte > len(f.Bytes) || r.End.Byte > len(f.Bytes) {
		return nil
	}
	src := f.Bytes
	start := bytes.LastIndexByte(src[:r.Start.Byte], '\n') + 1
	end := len(src)
	if i := bytes.IndexByte(src[r.End.Byte:], '\n'); i >= 0 {
		end = r.End.Byte + i
	}
	s := &jsonSnippet{
		Code:                 string(src[start:end]),
		StartLine:            r.Start.Line,
		HighlightStartOffset: r.Start.Byte - start,
		HighlightEndOffset:   r.End.Byte - start,
		Values:               []any{},
	}
	if cs, ok := f.Nav.(interface{ ContextString(int) string }); ok {
		if c := cs.ContextString(r.Start.Byte); c != "" {
			s.Context = &c
		}
	}
	return s
}
