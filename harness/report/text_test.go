package report

import (
	"bytes"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

// fixtureDefault is a real run of the default matrix (9 columns, every
// suite: `bpfmatrix run --json`, 2026-12-01).
const fixtureDefault = "testdata/results-default.json"

// flat collapses every run of white space to one space, so that a text
// wrapped over several lines can be searched as one line.
func flat(s string) string { return strings.Join(strings.Fields(s), " ") }

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

// broken is the default matrix with what a bad run has: a failure with a
// long output line, an unexpected fallback, an unexpected success, and a
// VM that timed out with a long console line.
func broken(t *testing.T) *results.Result {
	t.Helper()
	r := load(t, fixtureDefault)
	r.Kernels[2].Tests[1].Result = results.Fail
	r.Kernels[2].Tests[1].Reason = "event 0: return value"
	r.Kernels[2].Tests[1].Output = "=== RUN   TestKretprobe\n    kprobe_test.go:88: event 0: " + strings.Repeat("0123456789", 20) + "\n--- FAIL: TestKretprobe (0.32s)\n"
	tr := &r.Kernels[3].Tests[0]
	tr.Mechanism = "perf_event ioctl (fallback: bpf_link (perf_event): not supported)"
	tr.Expect = &results.Expectation{Outcome: results.Pass, Mechanism: "bpf_link (perf_event)", Rule: "kprobe links need Linux >= 5.15", Source: "min kernel version 5.15"}
	lsm := &r.Kernels[0].Tests[19]
	require.Equal(t, "TestLSMFileOpen", lsm.Name)
	lsm.Result, lsm.Mechanism = results.Pass, "bpf_link (tracing)"
	lsm.Expect.Met = false
	k := &r.Kernels[8]
	k.Status, k.Error = results.StatusTimeout, "killed after 5m0s: the guest did not finish"
	k.Tests = k.Tests[:10]
	k.ConsoleTail = append(k.ConsoleTail, "[  300.000000] rcu: "+strings.Repeat("stall ", 40))
	k.Reproduce = "qemu-system-aarch64 -M virt -cpu max,pauth-impdef=on -kernel " + strings.Repeat("/very/long/path", 12) + "/vmlinuz -append 'console=ttyAMA0 panic=-1 quiet " + strings.Repeat("x=y ", 40) + "'"
	r.Complete = true
	return r
}

// mustShow lists what a text report must show wherever it is cut: every
// failed cell with its reason, every unexpected cell, every VM that did
// not finish, every fallback chain with its reason and every unsupported
// reason.
func mustShow(t *testing.T, r *results.Result) []string {
	t.Helper()
	m := Build(r)
	var want []string
	eachCell(m, func(i, j int, c Cell) {
		on := m.Rows[i] + " on " + detailName(m, j)
		if c.Test.Result == results.Fail {
			want = append(want, "--- FAIL "+on)
			if c.Test.Reason != "" {
				want = append(want, "--- FAIL "+on+": "+c.Test.Reason)
			}
		}
		if c.Unexpected {
			want = append(want, "!! UNEXPECTED "+on)
		}
		if ch, ok := ParseChain(c); ok {
			want = append(want, ch.String())
		}
		if c.Test.Result == results.Unsupported {
			reason, _, _ := strings.Cut(c.Test.Reason, " (kernel ")
			want = append(want, reason)
		}
	})
	for j, c := range m.Columns {
		if c.Kernel.Status != results.StatusOK {
			want = append(want, detailName(m, j)+": "+string(c.Kernel.Status)+": "+c.Kernel.Error)
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
		{"default/120", func(t *testing.T) *results.Result { return load(t, fixtureDefault) }, 120, 1},
		{"default/100", func(t *testing.T) *results.Result { return load(t, fixtureDefault) }, 100, 2},
		{"default/80", func(t *testing.T) *results.Result { return load(t, fixtureDefault) }, 80, 2},
		{"broken/120", broken, 120, 1},
		{"broken/72", broken, 72, 2},
		{"expect/120", func(t *testing.T) *results.Result { return load(t, fixtureExpect) }, 120, 1},
		{"expect/50", func(t *testing.T) *results.Result { return load(t, fixtureExpect) }, 50, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r(t)
			for _, color := range []bool{false, true} {
				var b bytes.Buffer
				require.NoError(t, Text(&b, r, TextOptions{Width: tt.width, Color: color}))
				out := b.String()
				assertFits(t, out, tt.width)
				plain := flat(stripSGR(out))
				for _, want := range mustShow(t, r) {
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
	r := load(t, fixtureDefault)
	var b bytes.Buffer
	require.NoError(t, Text(&b, r, TextOptions{Width: 120}))
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
	r := broken(t)
	tests := []struct {
		show      Show
		rows      int
		has, hasn []string
	}{
		{ShowAll, 30, []string{"socket/TestSocketFilter", "same on every kernel"}, nil},
		{ShowFail, 21, []string{"kprobe/TestKretprobe"}, []string{"socket/TestSocketFilter "}},
		{ShowUnexpected, 2, []string{"kprobe/TestKprobe ", "lsm/TestLSMFileOpen "}, []string{"kprobe/TestKretprobe "}},
		{ShowFallback, 8, []string{"fallback/TestEntry ", "kprobe/TestKprobe "}, []string{"tracing/TestFentry "}},
		{ShowDiffers, 27, []string{"tracing/TestFentry "}, []string{"same on every kernel", "socket/TestSocketFilter "}},
	}
	for _, tt := range tests {
		t.Run(string(tt.show), func(t *testing.T) {
			m := Build(r)
			assert.Len(t, m.Select(tt.show), tt.rows)
			var b bytes.Buffer
			require.NoError(t, Text(&b, r, TextOptions{Width: 120, Show: tt.show}))
			out := b.String()
			assertFits(t, out, 120)
			var grid []string
			for _, l := range strings.Split(out, "\n") {
				if strings.Contains(l, "│") {
					grid = append(grid, l)
				}
			}
			matrix := strings.Join(grid, "\n")
			assert.Len(t, grid, tt.rows+4, "arch, two header lines, the rows and (vm)")
			for _, s := range tt.has {
				assert.Contains(t, matrix, s)
			}
			for _, s := range tt.hasn {
				assert.NotContains(t, matrix, s)
			}
			if tt.show != ShowAll {
				assert.Contains(t, out, fmt.Sprintf("%d of 30 rows (--show %s;", tt.rows, tt.show))
			}
			// Failures and unexpected cells are listed whatever the rows.
			assert.Contains(t, flat(out), "--- FAIL kprobe/TestKretprobe on debian-6.1")
			assert.Contains(t, flat(out), "!! UNEXPECTED lsm/TestLSMFileOpen on debian-5.10")
		})
	}
	// A selection without rows prints no grid, only what it left out.
	var b bytes.Buffer
	require.NoError(t, Text(&b, load(t, fixtureDefault), TextOptions{Width: 120, Show: ShowFail}))
	assert.NotContains(t, b.String(), "│")
	assert.True(t, strings.HasPrefix(b.String(), "0 of 30 rows (--show fail;"), b.String())

	_, err := ParseShow("some")
	assert.ErrorContains(t, err, "all, fail, fallback, unexpected, differs")
}

func TestParseChain(t *testing.T) {
	tests := []struct {
		mech, path, reason string
	}{
		{"kprobe (fallback: fentry: create raw tracepoint: not supported)", "fentry -> kprobe", "create raw tracepoint: not supported"},
		{"kprobe each (fallback: kprobe.multi: bpf_link_kprobe_multi not supported (requires >= v5.18); no register_fprobe in /proc/kallsyms: kernel without CONFIG_FPROBE)",
			"kprobe.multi -> kprobe each", "bpf_link_kprobe_multi not supported (requires >= v5.18); no register_fprobe in /proc/kallsyms: kernel without CONFIG_FPROBE"},
		{"c (fallback: a: not supported; b: permission denied)", "a -> b -> c", "a: not supported; b: permission denied"},
		{"kprobe security_file_open (observe only: cannot deny) (fallback: bpf lsm: not active)", "bpf lsm -> kprobe security_file_open (observe only: cannot deny)", "not active"},
		{"x (fallback:)", "(no reason given) -> x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			c := classify(&results.KernelResult{Status: results.StatusOK}, &results.TestResult{Result: results.Pass, Mechanism: tt.mech})
			ch, ok := ParseChain(c)
			require.True(t, ok)
			assert.Equal(t, tt.path, ch.Path())
			assert.Equal(t, tt.reason, ch.Reason())
		})
	}
	_, ok := ParseChain(classify(&results.KernelResult{}, &results.TestResult{Mechanism: "fentry"}))
	assert.False(t, ok, "no chain without a fallback")
}

func TestMechanismCodes(t *testing.T) {
	cs := MechanismCodes(&Matrix{})
	tests := []struct{ mech, code string }{
		{"bpf_link (perf_event)", "pl"},
		{"bpf_ringbuf_output from tracepoint, perf_event ioctl", "rb+io"},
		{"tcx", "tcx"},
		{"bpf_link (tcx)", "tcx"},
		{"bpf_link (netkit)", "bln"},
		{"bpf link netkit", "bln2"},
		{"kprobe", "kp"},
		{"kp", "kp2"},
		{"", ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.code, cs.Code(tt.mech), "Code(%q)", tt.mech)
	}
	assert.Equal(t, []string{"pl bpf_link (perf_event)", "rb bpf_ringbuf_output from tracepoint", "io perf_event ioctl",
		"tcx tcx / bpf_link (tcx)", "bln bpf_link (netkit)", "bln2 bpf link netkit", "kp kprobe", "kp2 kp"}, cs.Legend())
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
	for _, r := range []*results.Result{load(t, fixtureDefault), broken(t), load(t, fixtureExpect)} {
		for w := MinWidth; w <= 130; w += 3 {
			var b bytes.Buffer
			require.NoError(t, Text(&b, r, TextOptions{Width: w, Color: true}))
			assertFits(t, b.String(), w)
		}
		var b bytes.Buffer
		require.NoError(t, Text(&b, r, TextOptions{Width: 10}))
		assertFits(t, b.String(), MinWidth)
	}
}
