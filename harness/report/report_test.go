package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/harness/report/internal/fixture"
	"github.com/bpfmatrix/bpfmatrix/harness/report/matrix"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

func render(t *testing.T, r *results.Result, f Format) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, Render(&b, r, f))
	return b.String()
}

func TestCellText(t *testing.T) {
	okK := &results.KernelResult{Status: results.StatusOK}
	deadK := &results.KernelResult{Status: results.StatusTimeout}
	tests := []struct {
		name string
		k    *results.KernelResult
		t    *results.TestResult
		want string
		md   string
	}{
		{"pass", okK, &results.TestResult{Result: results.Pass, Mechanism: "bpf_link (tcx)"}, "✓ tcx", "✅ tcx"},
		{"fallback", okK, &results.TestResult{Result: results.Pass, Mechanism: "kprobe (fallback: fentry: no)"}, "✓ kp*", "✅ kp ↩️"},
		{"fail", okK, &results.TestResult{Result: results.Fail}, "✗", "❌"},
		{"unsupported expected", okK, &results.TestResult{Result: results.Unsupported, Expect: &results.Expectation{Met: true}}, "–", "➖"},
		{"unexpected", okK, &results.TestResult{Result: results.Pass, Expect: &results.Expectation{Met: false}}, "!✓", "‼️ ✅"},
		{"skip", okK, &results.TestResult{Result: results.Skip}, "○", "⏭️"},
		{"missing", okK, nil, "·", "·"},
		{"not run", deadK, nil, "⊘", "⛔"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := matrix.Classify(tt.k, tt.t)
			assert.Equal(t, tt.want, matrix.CellText(c, matrix.MechanismCodes(&matrix.Matrix{})))
			assert.Equal(t, tt.md, MarkdownCell(c, matrix.MechanismCodes(&matrix.Matrix{})))
		})
	}
}

// TestRenderIsPure checks that every format renders the same bytes twice,
// and after a round trip through the JSON file: what report prints is what
// run wrote.
func TestRenderIsPure(t *testing.T) {
	for _, path := range []string{fixture.Results, fixture.Expect} {
		for _, f := range Formats {
			t.Run(filepath.Base(path)+"/"+string(f), func(t *testing.T) {
				r := fixture.Load(t, path)
				first := render(t, r, f)
				assert.Equal(t, first, render(t, r, f))
				tmp := filepath.Join(t.TempDir(), "r.json")
				require.NoError(t, WriteFile(tmp, r, FormatJSON))
				assert.Equal(t, first, render(t, fixture.Load(t, tmp), f))
			})
		}
	}
	b, err := os.ReadFile(fixture.Expect)
	require.NoError(t, err)
	assert.Equal(t, string(b), render(t, fixture.Load(t, fixture.Expect), FormatJSON), "JSON re-renders the file byte for byte")
}

func TestParseFormat(t *testing.T) {
	f, err := ParseFormat("junit")
	require.NoError(t, err)
	assert.Equal(t, FormatJUnit, f)
	_, err = ParseFormat("pdf")
	assert.ErrorContains(t, err, "text, json, junit, markdown, html")
}

// junitDoc mirrors what CI systems read from JUnit XML.
type junitDoc struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Suites   []struct {
		Name     string         `xml:"name,attr"`
		Failures int            `xml:"failures,attr"`
		Cases    []junitCaseDoc `xml:"testcase"`
	} `xml:"testsuite"`
}

type junitCaseDoc struct {
	Name      string `xml:"name,attr"`
	Classname string `xml:"classname,attr"`
	Time      string `xml:"time,attr"`
	Failure   *struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	} `xml:"failure"`
	Error *struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	} `xml:"error"`
	Skipped *struct {
		Message string `xml:"message,attr"`
	} `xml:"skipped"`
	Flaky []struct {
		Message   string `xml:"message,attr"`
		Type      string `xml:"type,attr"`
		SystemOut string `xml:"system-out"`
	} `xml:"flakyFailure"`
}

func TestJUnit(t *testing.T) {
	out := render(t, fixture.Load(t, fixture.Expect), FormatJUnit)
	require.True(t, strings.HasPrefix(out, `<?xml version="1.0" encoding="UTF-8"?>`))
	// Well-formed: a strict decoder reads every token.
	d := xml.NewDecoder(strings.NewReader(out))
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
	}
	var doc junitDoc
	require.NoError(t, xml.Unmarshal([]byte(out), &doc))
	require.Len(t, doc.Suites, 3)
	assert.Equal(t, []string{"debian-5.10", "debian-6.12", "debian-7.2"}, []string{doc.Suites[0].Name, doc.Suites[1].Name, doc.Suites[2].Name})
	assert.Equal(t, 16, doc.Tests)
	assert.Equal(t, 3, doc.Failures, "one failing test and two unexpected cells")
	assert.Equal(t, 4, doc.Errors, "the timed-out VM, its unfinished test and its two tests never run")
	assert.Equal(t, 2, doc.Skipped)

	s510 := doc.Suites[0]
	assert.Equal(t, "TestKretprobe", s510.Cases[1].Name)
	assert.Equal(t, "debian-5.10.kprobe", s510.Cases[1].Classname)
	require.NotNil(t, s510.Cases[1].Failure)
	assert.Contains(t, s510.Cases[1].Failure.Text, "got 12, want 13")
	require.NotNil(t, s510.Cases[3].Skipped)
	assert.Equal(t, "unsupported: tcx not supported (requires >= v6.6) (kernel 5.10.0-32-cloud-amd64)", s510.Cases[3].Skipped.Message)

	lsm := doc.Suites[1].Cases[4]
	require.NotNil(t, lsm.Failure)
	assert.Equal(t, "unexpected", lsm.Failure.Type)
	assert.Contains(t, lsm.Failure.Message, "BPF LSM needs bpf in the lsm= list")

	vm := doc.Suites[2].Cases[0]
	assert.Equal(t, "(vm)", vm.Name)
	require.NotNil(t, vm.Error)
	assert.Equal(t, "timeout", vm.Error.Type)
	assert.Contains(t, vm.Error.Text, "rcu_preempt detected stalls")
	assert.Contains(t, vm.Error.Text, `<- ^[[31mred^[[0m & "quoted"`)
	notRun := doc.Suites[2].Cases[4]
	require.NotNil(t, notRun.Error)
	assert.Equal(t, "not-run", notRun.Error.Type)
}

func TestMarkdown(t *testing.T) {
	out := render(t, fixture.Load(t, fixture.Expect), FormatMarkdown)
	for _, want := range []string{
		"## ❌ bpfmatrix",
		"| test | amd64<br>5.10 | amd64<br>6.12 | amd64<br>7.2 |",
		"|---|---|---|---|",
		"| `kprobe/TestKprobe` | ✅ io | ‼️ ✅ io ↩️ | ✅ pl |",
		"| `tc/TestTCX` | ➖ | ✅ tcx | ⛔ |",
		"- **io** perf_event ioctl",
		"### ‼️ Unexpected cells",
		"### ⛔ VMs that did not finish",
		"### ❌ Failures",
		"<details><summary><code>kprobe/TestKretprobe</code> on <b>debian-5.10</b></summary>",
		"<details><summary>↩️ Fallback mechanisms: 1 cell, 1 reason</summary>",
		"- bpf_link (perf_event) -&gt; perf_event ioctl: not supported<br>*model: kprobe links need Linux &gt;= 5.15 [min kernel version 5.15]*<br>kprobe/TestKprobe on amd64 6.12",
		"requires &gt;= v6.6",
	} {
		assert.Contains(t, out, want)
	}
	// Every row of the matrix has as many cells as the header.
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "| `") || strings.HasPrefix(l, "| test") || strings.HasPrefix(l, "| *vm*") {
			assert.Equal(t, 5, strings.Count(strings.ReplaceAll(l, `\|`, ""), "|"), l)
		}
	}
	assert.NotContains(t, out, "\x1b")
}

// TestMarkdownFitsGitHub checks that the default matrix's table fits
// GitHub's page (about 1000 px, some 120 characters of its font): each
// row, as rendered (markup and the header's line breaks removed, an emoji
// two characters), and that the rows where every kernel agrees are folded
// out of it with every detail section.
func TestMarkdownFitsGitHub(t *testing.T) {
	out := render(t, fixture.Load(t, fixture.Default), FormatMarkdown)
	emoji := regexp.MustCompile(`[\x{2190}-\x{2BFF}\x{1F000}-\x{1FFFF}]\x{FE0F}?`)
	rows := 0
	for _, l := range strings.Split(out, "\n") {
		if !strings.HasPrefix(l, "| ") || strings.HasPrefix(l, "| column") || strings.Count(l, "|") < 10 {
			continue
		}
		rows++
		cells := strings.Split(strings.Trim(l, "|"), "|")
		shown := 0
		for _, c := range cells {
			c = strings.NewReplacer("**", "", "`", "", "*", "").Replace(strings.TrimSpace(c))
			w := 0
			for _, part := range strings.Split(c, "<br>") {
				w = max(w, utf8.RuneCountInString(emoji.ReplaceAllString(part, "xx")))
			}
			shown += w + 2
		}
		assert.LessOrEqual(t, shown, 120, "rendered %d wide: %s", shown, l)
	}
	assert.Equal(t, 20+2, rows, "the header, the 20 rows that differ and the vm row")
	assert.Contains(t, out, "<details><summary>10 rows where every kernel agrees</summary>")
	assert.Contains(t, out, "- `socket/TestSocketFilter`: ✅ so")
	assert.Contains(t, out, "<details><summary>↩️ Fallback mechanisms: 34 cells, 9 reasons</summary>")
	assert.Contains(t, out, "<details><summary>➖ Unsupported: 21 cells, 4 reasons</summary>")
	assert.Contains(t, out, "fentry -&gt; kprobe: create raw tracepoint: not supported")
}

// TestJUnitSplats: an unknown kernel splat is a failing testcase of its
// column, with the report's lines; a known one is a passing one that says why.
func TestJUnitSplats(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, JUnit(&b, fixture.Splats(t)))
	out := b.String()
	assert.Contains(t, out, `<testcase name="(kernel splat 1)"`)
	assert.Contains(t, out, `type="splat-warning"`)
	assert.Contains(t, out, "kernel/bpf/verifier.c:1234")
	assert.Contains(t, out, `<testcase name="(kernel splat 2)"`)
	assert.Equal(t, 1, strings.Count(out, `type="splat-`), "the known splat is no failure")

	var md bytes.Buffer
	require.NoError(t, Markdown(&md, fixture.Splats(t)))
	assert.Contains(t, md.String(), "kernel warning")
	assert.Contains(t, md.String(), "kernel/bpf/verifier.c:1234")
}
