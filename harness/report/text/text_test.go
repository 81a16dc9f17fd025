package text

import (
	"bytes"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/harness/report/internal/fixture"
	"github.com/bpfmatrix/bpfmatrix/harness/report/matrix"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

// flat collapses every run of white space to one space, so that a text
// wrapped over several lines can be searched as one line.
func flat(s string) string { return strings.Join(strings.Fields(s), " ") }

// squash removes every space of s.
func squash(s string) string { return strings.Join(strings.Fields(s), "") }

// assertFits checks that no line of out is wider than limit cells.
func assertFits(t *testing.T, out string, limit int) {
	t.Helper()
	for i, l := range strings.Split(out, "\n") {
		if w := width(stripSGR(l)); w > limit {
			t.Errorf("line %d is %d wide, want <= %d: %q", i+1, w, limit, l)
		}
	}
}

var sgrRE = regexp.MustCompile("\x1b\\[[0-9;]*m")

func stripSGR(s string) string { return sgrRE.ReplaceAllString(s, "") }

// mustShow lists what a text report must show wherever it is cut: every
// failed cell with its reason, every unexpected cell, every VM that did
// not finish, every fallback chain with its reason and every unsupported
// reason.
func mustShow(t *testing.T, r *results.Result) []string {
	t.Helper()
	m := matrix.Build(r)
	var want []string
	m.EachCell(func(i, j int, c matrix.Cell) {
		on := m.Rows[i] + " on " + matrix.DetailName(m, j)
		if c.Test.Result == results.Fail {
			want = append(want, "--- FAIL "+on)
			if c.Test.Reason != "" {
				want = append(want, "--- FAIL "+on+": "+c.Test.Reason)
			}
		}
		if c.Unexpected {
			want = append(want, "!! UNEXPECTED "+on)
		}
		if ch, ok := matrix.ParseChain(c); ok {
			want = append(want, ch.String())
		}
		if c.Test.Result == results.Unsupported {
			reason, _, _ := strings.Cut(c.Test.Reason, " (kernel ")
			want = append(want, reason)
		}
	})
	for j, c := range m.Columns {
		if c.Kernel.Status != results.StatusOK {
			want = append(want, matrix.DetailName(m, j)+": "+string(c.Kernel.Status)+": "+c.Kernel.Error)
		}
	}
	return want
}

// TestTextFitsTheWidth is the done-when of issue 16: the default matrix
// at COLUMNS=120 prints no line wider than 120 and still shows every
// failure, unexpected cell and fallback reason; so does a narrower
// terminal (in pages of columns) and a run that went wrong.
func TestTextFitsTheWidth(t *testing.T) {
	tests := []struct {
		name  string
		r     func(t *testing.T) *results.Result
		width int
		pages int // at least
	}{
		{"default/120", func(t *testing.T) *results.Result { return fixture.Load(t, fixture.Default) }, 120, 1},
		{"default/100", func(t *testing.T) *results.Result { return fixture.Load(t, fixture.Default) }, 100, 2},
		{"default/80", func(t *testing.T) *results.Result { return fixture.Load(t, fixture.Default) }, 80, 2},
		{"broken/120", fixture.Broken, 120, 1},
		{"broken/72", fixture.Broken, 72, 2},
		{"longnames/120", fixture.LongNames, 120, 1},
		{"longnames/80", fixture.LongNames, 80, 2},
		{"expect/120", func(t *testing.T) *results.Result { return fixture.Load(t, fixture.Expect) }, 120, 1},
		{"expect/50", func(t *testing.T) *results.Result { return fixture.Load(t, fixture.Expect) }, 50, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r(t)
			for _, color := range []bool{false, true} {
				var b bytes.Buffer
				require.NoError(t, Write(&b, r, Options{Width: tt.width, Color: color}))
				out := b.String()
				assertFits(t, out, tt.width)
				plain := flat(stripSGR(out))
				for _, want := range mustShow(t, r) {
					if width(want) > tt.width {
						// A word wider than a line is cut where the line ends.
						assert.Contains(t, squash(plain), squash(want))
						continue
					}
					assert.Contains(t, plain, flat(want))
				}
				pages := regexp.MustCompile(`page (\d+) of (\d+): columns`).FindAllStringSubmatch(plain, -1)
				if tt.pages == 1 {
					assert.Empty(t, pages, "one page")
				} else if assert.NotEmpty(t, pages) {
					n := pages[0][2]
					assert.Equal(t, n, fmt.Sprint(len(pages)), "a header per page")
					assert.Equal(t, n, pages[len(pages)-1][1])
					assert.GreaterOrEqual(t, len(pages), tt.pages)
				}
			}
		})
	}
}

// TestTextDefaultMatrix checks the layout of the default matrix at 120
// columns: one page, arch groups, compact cells, folded rows, and the
// fallback cells grouped by chain and reason instead of one line each.
func TestTextDefaultMatrix(t *testing.T) {
	r := fixture.Load(t, fixture.Default)
	var b bytes.Buffer
	require.NoError(t, Write(&b, r, Options{Width: 120}))
	out := b.String()
	lines := strings.Split(out, "\n")
	assert.Regexp(t, `^\s+│ amd64\s+│ arm64$`, lines[0], "columns grouped by arch")
	assert.Regexp(t, `^TEST\s+│ 5\.10\s+5\.10\s+6\.1\s+6\.12\s+7\.2\s+│ 5\.10\s+5\.10\s+6\.1\s+6\.12$`, lines[1])
	assert.Regexp(t, `^\s+│\s+\+lsm-bpf\s+│\s+\+lsm-bpf$`, lines[2], "the boot profile on a line of its own")
	assert.Regexp(t, `(?m)^fallback/TestEntry\s+│ ✓ fe\s+✓ fe\s+✓ fe\s+✓ fe\s+✓ fe\s+│ ✓ kp\*\s+✓ kp\*\s+✓ kp\*\s+✓ fe$`, out)
	assert.Regexp(t, `(?m)^socket/TestSocketFilter\s+│ ✓ so  same on every kernel$`, out, "a row where every kernel agrees is folded")
	assert.Contains(t, out, "\n  fentry -> kprobe: create raw tracepoint: not supported\n")
	assert.Contains(t, flat(out), "fallback/TestEntry on arm64 5.10, 5.10+lsm-bpf, 6.1")
	assert.Contains(t, flat(out), "fallbacks: 34 fallback cells, 9 reasons")
	assert.Contains(t, flat(out), "unsupported: 21 unsupported cells, 4 reasons")
	assert.Contains(t, flat(out), "codes: io perf_event ioctl | pl bpf_link (perf_event)")
	assert.Contains(t, out, "arm64 5.10+lsm-bpf  debian-5.10-arm64+lsm-bpf  5.10.0-32-cloud-arm64")
	assert.Equal(t, 34, strings.Count(out, "*")-strings.Count(out, "* fallback mechanism"), "each fallback cell is marked once, in the matrix")
	assert.Less(t, len(lines), 120, "the whole report fits a screen or two")
}

func TestTextShow(t *testing.T) {
	r := fixture.Broken(t)
	tests := []struct {
		show      matrix.Show
		rows      int
		has, hasn []string
	}{
		{matrix.ShowAll, 30, []string{"socket/TestSocketFilter", "same on every kernel"}, nil},
		{matrix.ShowFail, 21, []string{"kprobe/TestKretprobe"}, []string{"socket/TestSocketFilter "}},
		{matrix.ShowUnexpected, 2, []string{"kprobe/TestKprobe ", "lsm/TestLSMFileOpen "}, []string{"kprobe/TestKretprobe "}},
		{matrix.ShowFallback, 8, []string{"fallback/TestEntry ", "kprobe/TestKprobe "}, []string{"tracing/TestFentry "}},
		{matrix.ShowDiffers, 27, []string{"tracing/TestFentry "}, []string{"same on every kernel", "socket/TestSocketFilter "}},
	}
	for _, tt := range tests {
		t.Run(string(tt.show), func(t *testing.T) {
			m := matrix.Build(r)
			assert.Len(t, m.Select(tt.show), tt.rows)
			var b bytes.Buffer
			require.NoError(t, Write(&b, r, Options{Width: 120, Show: tt.show}))
			out := b.String()
			assertFits(t, out, 120)
			var grid []string
			for _, l := range strings.Split(out, "\n") {
				if strings.Contains(l, "│") {
					grid = append(grid, l)
				}
			}
			shown := strings.Join(grid, "\n")
			assert.Len(t, grid, tt.rows+4, "arch, two header lines, the rows and (vm)")
			for _, s := range tt.has {
				assert.Contains(t, shown, s)
			}
			for _, s := range tt.hasn {
				assert.NotContains(t, shown, s)
			}
			if tt.show != matrix.ShowAll {
				assert.Contains(t, out, fmt.Sprintf("%d of 30 rows (--show %s;", tt.rows, tt.show))
			}
			// Failures and unexpected cells are listed whatever the rows.
			assert.Contains(t, flat(out), "--- FAIL kprobe/TestKretprobe on debian-6.1")
			assert.Contains(t, flat(out), "!! UNEXPECTED lsm/TestLSMFileOpen on debian-5.10")
		})
	}
	// A selection without rows prints no grid, only what it left out.
	var b bytes.Buffer
	require.NoError(t, Write(&b, fixture.Load(t, fixture.Default), Options{Width: 120, Show: matrix.ShowFail}))
	assert.NotContains(t, b.String(), "│")
	assert.True(t, strings.HasPrefix(b.String(), "0 of 30 rows (--show fail;"), b.String())

	_, err := matrix.ParseShow("some")
	assert.ErrorContains(t, err, "all, fail, fallback, unexpected, differs")
}

func TestWrap(t *testing.T) {
	text := "fentry -> kprobe: no BTF for module veth (/sys/kernel/btf/veth missing: kernel without CONFIG_DEBUG_INFO_BTF_MODULES): not supported"
	noSpace := func(s string) string { return strings.Join(strings.Fields(s), "") }
	for _, limit := range []int{20, 40, 80} {
		lines := wrap("  ", "      ", text, limit)
		for _, l := range lines {
			assert.LessOrEqual(t, width(l), limit, "%q", l)
		}
		assert.Equal(t, noSpace(text), noSpace(strings.Join(lines, " ")), "nothing lost but spaces")
		if limit == 80 {
			assert.Equal(t, text, flat(strings.Join(lines, " ")), "broken between words only")
		}
	}
	for _, l := range hardWrap("    ", "      ", strings.Repeat("x", 100), 30) {
		assert.LessOrEqual(t, width(l), 30)
	}
}

// TestShellWrap checks that a wrapped reproduce command fits and still
// means the same to the shell.
func TestShellWrap(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	cmd := "qemu-system-x86_64 -kernel " + strings.Repeat("/long", 20) + "/vmlinuz -append 'console=ttyS0 panic=-1 quiet " + strings.Repeat("k=v ", 20) + "' -m 1024"
	for _, limit := range []int{40, 72, 120} {
		lines := shellWrap("  reproduce:   ", "      ", cmd, limit)
		for _, l := range lines {
			assert.LessOrEqual(t, width(l), limit, "%q", l)
		}
		script := "printf '%s\\n' " + strings.TrimPrefix(strings.Join(lines, "\n"), "  reproduce:   ")
		gotOut, err := exec.Command(sh, "-c", script).Output()
		require.NoError(t, err, script)
		wantOut, err := exec.Command(sh, "-c", "printf '%s\\n' "+cmd).Output()
		require.NoError(t, err)
		assert.Equal(t, string(wantOut), string(gotOut), "at %d columns:\n%s", limit, script)
	}
}

// TestTextFitsEveryWidth sweeps the widths from MinWidth up: no line is
// ever wider, and a narrower request is taken as MinWidth.
func TestTextFitsEveryWidth(t *testing.T) {
	for _, r := range []*results.Result{fixture.Load(t, fixture.Default), fixture.Broken(t), fixture.Load(t, fixture.Expect)} {
		for w := MinWidth; w <= 130; w += 3 {
			var b bytes.Buffer
			require.NoError(t, Write(&b, r, Options{Width: w, Color: true}))
			assertFits(t, b.String(), w)
		}
		var b bytes.Buffer
		require.NoError(t, Write(&b, r, Options{Width: 10}))
		assertFits(t, b.String(), MinWidth)
	}
}

func TestTextFixture(t *testing.T) {
	out := render(t, fixture.Load(t, fixture.Expect))
	for _, want := range []string{
		"TEST", "7.2",
		"!✓ io*",
		"–",
		"⊘",
		"debian-7.2: timeout: killed after 5m0s",
		"!! UNEXPECTED lsm/TestLSMFileOpen on debian-6.12: got pass (bpf_link (tracing)), the model expects unsupported",
		"fallbacks: 1 fallback cell, 1 reason",
		"bpf_link (perf_event) -> perf_event ioctl: not supported",
		"kprobe/TestKprobe on amd64 6.12",
		"--- FAIL kprobe/TestKretprobe on debian-5.10",
		"got 12, want 13",
		Legend,
		"FAIL: 3 kernels (1 not ok), 9 passed, 2 failed, 2 unsupported, 0 skipped, 2 not run; 1 fallback, 2 unexpected in 312.5s",
	} {
		assert.Contains(t, flat(out), want)
	}
	assert.NotContains(t, out, "\x1b", "plain text has no escapes, not even the guest console's")
	assert.Contains(t, out, "^[[31mred", "console escapes are shown in caret notation")

	var col bytes.Buffer
	require.NoError(t, Write(&col, fixture.Load(t, fixture.Expect), Options{Color: true}))
	assert.Contains(t, col.String(), sgrUnexpected+"!✓ io*")
	assert.Contains(t, col.String(), sgrFail+"✗")
	assert.Regexp(t, `kprobe/TestKprobe\s+│ \x1b\[32m✓ io\x1b\[0m\s+\x1b`, col.String(), "padding stays outside the colour")

	ok := render(t, fixture.Load(t, fixture.Results))
	assert.Regexp(t, `tc/TestTCX\s+│ –\s+✓ tcx`, ok)
	assert.Contains(t, ok, "PASS: 2 kernels (0 not ok), 8 passed, 0 failed, 2 unsupported, 0 skipped; 0 fallback, 0 unexpected in 37.9s")
}

// TestTextMatrix is the plain matrix that results.Result.WriteMatrix
// printed before report.Text became the one text renderer (the same test
// as on the refactor branch, with the compact cells).
func TestTextMatrix(t *testing.T) {
	r := &results.Result{Complete: true, Kernels: []results.KernelResult{
		{Kernel: results.KernelInfo{Name: "debian-5.10", Release: "5.10.0-32-cloud-amd64"}, Status: results.StatusOK, Tests: []results.TestResult{{Suite: "kprobe", Name: "TestK", Result: results.Pass}}},
		{Kernel: results.KernelInfo{Name: "debian-6.1"}, Status: results.StatusPanic, Error: "guest kernel panic", PanicLines: []string{"Kernel panic - not syncing"}, ConsoleLog: "/x/console.log",
			Tests: []results.TestResult{{Suite: "kprobe", Name: "TestK", Result: results.Fail, Reason: "the test never finished", Output: "line\n"}}},
	}}
	var b strings.Builder
	require.NoError(t, Write(&b, r, Options{}))
	out := b.String()
	assert.Regexp(t, `kprobe/TestK\s+│ ✓\s+✗`, out)
	assert.Contains(t, out, "debian-6.1: panic: guest kernel panic")
	assert.Contains(t, out, "console log: /x/console.log")
	assert.Contains(t, out, "--- FAIL kprobe/TestK on debian-6.1: the test never finished")
	assert.Contains(t, out, "FAIL: 2 kernels (1 not ok), 1 passed, 1 failed, 0 unsupported")
}

// render is the plain text report of r.
func render(t *testing.T, r *results.Result) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, Write(&b, r, Options{}))
	return b.String()
}

// TestReproduceLine checks that every failing cell has the command that
// runs it again under it, and that a suite's own failure has none.
func TestReproduceLine(t *testing.T) {
	r := fixture.Load(t, fixture.Expect)
	var b bytes.Buffer
	require.NoError(t, Write(&b, r, Options{Width: 200}))
	out := b.String()
	for _, cell := range []string{"debian-5.10 kprobe/TestKretprobe", "debian-7.2 tc/TestTCNetlink"} {
		assert.Contains(t, out, "\n    reproduce: bpfmatrix reproduce /root/.cache/bpfmatrix/runs/20261124-191242-5680/results.json "+cell+"\n")
	}
	assert.Equal(t, 2, strings.Count(out, "reproduce: bpfmatrix reproduce"), "one per failing cell")

	r.Kernels[0].Tests[0].Name = "(suite)"
	r.Kernels[0].Tests[0].Result = results.Fail
	r.Kernels[1].Profile = "lsm-bpf"
	b.Reset()
	require.NoError(t, Write(&b, r, Options{Width: 200}))
	assert.NotContains(t, b.String(), "reproduce /root/.cache/bpfmatrix/runs/20261124-191242-5680/results.json debian-5.10 'kprobe/(suite)'")
	r.RunDir = ""
	b.Reset()
	require.NoError(t, Write(&b, r, Options{Width: 200}))
	assert.NotContains(t, b.String(), "reproduce: bpfmatrix", "no run directory, no results file to name")
}

// TestTextSplats: every splat is shown with its lines, a known one says
// why it is known, the summary counts them, and an unknown one fails the
// verdict unless splats are allowed.
func TestTextSplats(t *testing.T) {
	r := fixture.Splats(t)
	var b bytes.Buffer
	require.NoError(t, Write(&b, r, Options{Width: 120}))
	out := b.String()
	assert.Contains(t, out, "kernel warning")
	assert.Contains(t, out, "WARNING: CPU: 1 PID: 301 at kernel/bpf/verifier.c:1234")
	assert.Contains(t, out, "kernel ubsan (known: bpffs mountinfo shifts out of bounds: a kernel bug; min version 6.9)")
	assert.Contains(t, out, "FAIL: ")
	assert.Contains(t, out, "2 kernel splats (1 known)")

	r.AllowSplats = true
	b.Reset()
	require.NoError(t, Write(&b, r, Options{Width: 120}))
	assert.Contains(t, b.String(), "(--allow-splats)")
	assert.NotContains(t, b.String(), "FAIL: ")
}

// TestTextLongNames: a Go project's matrix, with many rows and subtest
// names of 130 characters. The names give way (cut in the middle, the
// test and the last subtest kept) before the columns are paged, and
// --show auto (the default) prints the rows with something to see.
func TestTextLongNames(t *testing.T) {
	r := fixture.LongNames(t)
	var b bytes.Buffer
	require.NoError(t, Write(&b, r, Options{Width: 120}))
	out := b.String()
	assertFits(t, out, 120)
	assert.NotContains(t, out, "page 1 of", "nine columns and cut names fit one page")
	assert.Regexp(t, `(?m)^testutils/TestIg.*….*provided_007\s+│ ✗ `, out, "the failing row, its name cut in the middle")
	assert.NotContains(t, out, "provided_008", "a row where every kernel passes is not shown")
	assert.Contains(t, flat(out), "of 150 rows (--show auto: the rows with a failure, a fallback, an unexpected cell or kernels that differ; --show all for every row)")
	assert.Contains(t, squash(out), "TestIgnoreKernelVersionCheck/should_match_test_name_when_multiple_comma_separated_names_list_is_provided_007", "the full name in the failure section")

	b.Reset()
	require.NoError(t, Write(&b, r, Options{Width: 120, Show: matrix.ShowAll}))
	assertFits(t, b.String(), 120)
	assert.Contains(t, b.String(), "provided_008")
	assert.NotContains(t, b.String(), "--show all for every row")

	b.Reset()
	require.NoError(t, Write(&b, fixture.Load(t, fixture.Default), Options{Width: 120}))
	assert.NotContains(t, b.String(), "--show all for every row", "the default matrix (30 rows) is shown whole by auto")
}
