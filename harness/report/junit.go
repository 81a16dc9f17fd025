package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/report/matrix"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

// The JUnit XML schema as read by GitHub (test reporter actions), GitLab
// (artifacts:reports:junit) and Jenkins (junit step).
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Name     string       `xml:"name,attr"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Errors   int          `xml:"errors,attr"`
		Skipped  int          `xml:"skipped,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name       string          `xml:"name,attr"`
		Tests      int             `xml:"tests,attr"`
		Failures   int             `xml:"failures,attr"`
		Errors     int             `xml:"errors,attr"`
		Skipped    int             `xml:"skipped,attr"`
		Time       string          `xml:"time,attr"`
		Timestamp  string          `xml:"timestamp,attr,omitempty"`
		Properties []junitProperty `xml:"properties>property,omitempty"`
		Cases      []junitCase     `xml:"testcase"`
		SystemOut  *junitText      `xml:"system-out,omitempty"`
	}
	junitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	junitCase struct {
		Name      string        `xml:"name,attr"`
		Classname string        `xml:"classname,attr"`
		Time      string        `xml:"time,attr"`
		Failure   *junitProblem `xml:"failure,omitempty"`
		Error     *junitProblem `xml:"error,omitempty"`
		Skipped   *junitSkipped `xml:"skipped,omitempty"`
		// Flaky are the failed runs of a test that then passed, as Maven
		// Surefire writes them (and Jenkins, GitLab and test reporters
		// read them): the test case itself passed.
		Flaky     []junitFlaky `xml:"flakyFailure,omitempty"`
		SystemOut *junitText   `xml:"system-out,omitempty"`
	}
	junitFlaky struct {
		Message    string     `xml:"message,attr"`
		Type       string     `xml:"type,attr"`
		StackTrace *junitText `xml:"stackTrace,omitempty"`
		SystemOut  *junitText `xml:"system-out,omitempty"`
	}
	junitProblem struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",innerxml"`
	}
	junitText struct {
		Text string `xml:",innerxml"`
	}
	junitSkipped struct {
		Message string `xml:"message,attr"`
	}
)

func seconds(s float64) string { return fmt.Sprintf("%.3f", s) }

// xmlText escapes s for element content (invalid XML characters become
// U+FFFD) but keeps newlines and tabs readable.
func xmlText(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return strings.NewReplacer("&#xA;", "\n", "&#x9;", "\t", "&#xD;", "").Replace(b.String())
}

func newProblem(message, typ, text string) *junitProblem {
	return &junitProblem{Message: message, Type: typ, Text: xmlText(text)}
}

// JUnit writes r as JUnit XML: one testsuite per column, one testcase per
// test (classname "<column>.<suite>", so Jenkins groups by column and
// suite). A failing test is a <failure> with its output; a flaky one
// passed, with a <flakyFailure> per failed run (as Maven Surefire writes
// them); a known-flaky one that failed is <skipped> with the list's
// reason and its output; an unsupported or skipped test is <skipped>
// with the reason; a cell that contradicts the expectation model is a
// <failure type="unexpected">. A VM that did not
// finish adds a "(vm)" testcase with an <error> and the console tail, and
// the tests it never ran are <error>s too.
func JUnit(w io.Writer, r *results.Result) error {
	m := matrix.Build(r)
	all := junitSuites{Name: "bpfmatrix", Time: seconds(r.Seconds)}
	for j, col := range m.Columns {
		k := col.Kernel
		s := junitSuite{Name: col.Label, Time: seconds(k.Seconds)}
		if !r.Started.IsZero() {
			s.Timestamp = r.Started.UTC().Format(time.RFC3339)
		}
		for _, p := range []junitProperty{
			{"kernel", k.Kernel.Name}, {"arch", k.Kernel.Arch}, {"release", k.Kernel.Release},
			{"status", string(k.Status)}, {"console_log", k.ConsoleLog},
		} {
			if p.Value != "" {
				s.Properties = append(s.Properties, p)
			}
		}
		finished := k.Status == results.StatusOK
		console := strings.Join(matrix.ConsoleOf(k, 50), "\n")
		if !finished {
			msg := fmt.Sprintf("VM %s", k.Status)
			if k.Error != "" {
				msg += ": " + k.Error
			}
			text := console
			if k.Reproduce != "" {
				text += "\n\nreproduce: " + k.Reproduce
			}
			s.Cases = append(s.Cases, junitCase{Name: "(vm)", Classname: col.Label, Time: seconds(k.Seconds),
				Error: newProblem(msg, string(k.Status), text)})
		}
		for i, sp := range k.Splats {
			tc := junitCase{Name: fmt.Sprintf("(kernel splat %d)", i+1), Classname: col.Label, Time: "0.000"}
			if sp.Known == "" && !r.AllowSplats {
				tc.Failure = newProblem(matrix.SplatTitle(sp), "splat-"+sp.Kind, strings.Join(sp.Lines, "\n"))
			} else {
				tc.SystemOut = &junitText{xmlText(matrix.SplatTitle(sp) + "\n" + strings.Join(sp.Lines, "\n"))}
			}
			s.Cases = append(s.Cases, tc)
		}
		for i, id := range m.Rows {
			c := m.Cells[i][j]
			suite, name, _ := strings.Cut(id, "/")
			tc := junitCase{Name: name, Classname: col.Label + "." + suite, Time: "0.000"}
			switch {
			case c.Test == nil && c.NotRun:
				tc.Error = newProblem(fmt.Sprintf("not run: the VM did not finish (%s)", k.Status), "not-run", console)
			case c.Test == nil:
				continue
			default:
				t := c.Test
				tc.Time = seconds(t.Seconds)
				if note := mechanismNote(c); note != "" {
					tc.SystemOut = &junitText{xmlText(note)}
				}
				switch t.Result {
				case results.Fail:
					msg := "test failed"
					if t.Reason != "" {
						msg = t.Reason
					}
					text := t.Output
					typ := "fail"
					if !finished {
						typ = "vm-" + string(k.Status)
						tc.Error = newProblem(msg, typ, text+"\n--- console tail ---\n"+console)
						break
					}
					tc.Failure = newProblem(msg, typ, text)
				case results.Unsupported, results.Skip:
					tc.Skipped = &junitSkipped{Message: fmt.Sprintf("%s: %s", t.Result, t.Reason)}
				case results.Flaky:
					for _, a := range t.Attempts {
						msg := "test failed"
						if a.Reason != "" {
							msg = a.Reason
						}
						tc.Flaky = append(tc.Flaky, junitFlaky{Message: msg, Type: "fail", SystemOut: &junitText{xmlText(a.Output)}})
					}
				case results.KnownFlaky:
					tc.Skipped = &junitSkipped{Message: matrix.FlakyNote(t)}
					out := t.Output
					if tc.SystemOut != nil {
						out = tc.SystemOut.Text + "\n" + xmlText(out)
					} else {
						out = xmlText(out)
					}
					tc.SystemOut = &junitText{out}
				}
				if c.Unexpected && tc.Failure == nil && tc.Error == nil {
					e := t.Expect
					tc.Skipped = nil
					text := fmt.Sprintf("rule: %s\nsource: %s\n", e.Rule, e.Source)
					if t.Reason != "" {
						text += "reason: " + t.Reason + "\n"
					}
					tc.Failure = newProblem(fmt.Sprintf("unexpected: got %s, the model expects %s: %s", matrix.Got(t), matrix.Want(e), e.Rule),
						"unexpected", text+t.Output)
				}
			}
			s.Cases = append(s.Cases, tc)
		}
		for _, tc := range s.Cases {
			s.Tests++
			switch {
			case tc.Failure != nil:
				s.Failures++
			case tc.Error != nil:
				s.Errors++
			case tc.Skipped != nil:
				s.Skipped++
			}
		}
		all.Tests += s.Tests
		all.Failures += s.Failures
		all.Errors += s.Errors
		all.Skipped += s.Skipped
		all.Suites = append(all.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(all); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// mechanismNote is the hook and mechanism of a cell, for system-out.
func mechanismNote(c matrix.Cell) string {
	t := c.Test
	var parts []string
	if t.Hook != "" {
		parts = append(parts, "hook: "+t.Hook)
	}
	if c.Mechanism != "" {
		parts = append(parts, "mechanism: "+c.Mechanism)
	}
	if c.IsFallback() {
		parts = append(parts, "fallback: "+c.Fallback)
	}
	if t.Events > 0 {
		parts = append(parts, fmt.Sprintf("events verified: %d", t.Events))
	}
	if t.Expect != nil {
		parts = append(parts, fmt.Sprintf("expectation: %s (%s), met: %t", t.Expect.Rule, t.Expect.Source, t.Expect.Met))
	}
	return strings.Join(parts, "\n")
}
