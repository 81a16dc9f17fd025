package live

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/bpfmatrix/bpfmatrix/harness/results"
	"github.com/bpfmatrix/bpfmatrix/kernels"
)

// clock is a fake clock advanced by the test.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func feed(l *Live, c *clock) {
	step := func(d time.Duration) { c.t = c.t.Add(d) }
	l.Update(results.Progress{Column: "debian-6.12", Phase: results.PhaseFetching})
	l.Download("debian-6.12", kernels.PhaseIndex, 0, -1)
	step(time.Second)
	for _, done := range []int64{0, 10e6, 20e6, 30e6, 40e6} {
		l.Download("debian-6.12", kernels.PhaseDownload, done, 40e6)
		step(time.Second)
	}
	l.Update(results.Progress{Column: "debian-6.12", Phase: results.PhaseImage})
	l.Update(results.Progress{Column: "debian-6.12", Phase: results.PhaseBooting, Message: "tcg"})
	step(2 * time.Second)
	l.Update(results.Progress{Column: "debian-6.12", Phase: results.PhaseTesting, Suite: "kprobe", SuiteIndex: 1, Suites: 2, Test: "TestKprobe"})
	l.Update(results.Progress{Column: "debian-6.12", Phase: results.PhaseTesting, Suite: "kprobe", SuiteIndex: 1, Suites: 2, Test: "TestKretprobe"})
	l.Update(results.Progress{Column: "debian-6.12", Phase: results.PhaseTesting, Suite: "tc", SuiteIndex: 2, Suites: 2, Test: "TestTCX"})
	step(time.Second)
	l.Update(results.Progress{Column: "debian-5.10", Phase: results.PhaseDone, Status: results.StatusTimeout, Message: "killed after 5m0s", Elapsed: 300 * time.Second})
	l.Update(results.Progress{Column: "debian-6.12", Phase: results.PhaseDone, Status: results.StatusOK, Elapsed: 9 * time.Second})
}

func TestLivePlain(t *testing.T) {
	c := &clock{time.Date(2026, 11, 24, 19, 0, 0, 0, time.UTC)}
	var b bytes.Buffer
	l := New(&b, Options{Columns: []string{"debian-5.10", "debian-6.12"}, Now: c.now})
	feed(l, c)
	l.Log().Write([]byte("accelerator tcg\n"))
	l.Close()
	out := b.String()
	assert.NotContains(t, out, "\x1b", "no control characters in CI logs")
	assert.NotContains(t, out, "\r")
	want := []string{
		"19:00:00 debian-6.12    0.0s  fetching",
		"19:00:00 debian-6.12    0.0s  reading the package index",
		"19:00:01 debian-6.12    1.0s  downloading 0.0/40.0 MB",
		"19:00:02 debian-6.12    2.0s  downloading 10.0/40.0 MB  10.0 MB/s",
		"19:00:03 debian-6.12    3.0s  downloading 20.0/40.0 MB  10.0 MB/s",
		"19:00:04 debian-6.12    4.0s  downloading 30.0/40.0 MB  10.0 MB/s",
		"19:00:05 debian-6.12    5.0s  downloading 40.0/40.0 MB  10.0 MB/s",
		"19:00:06 debian-6.12    6.0s  building image",
		"19:00:06 debian-6.12    6.0s  booting (tcg)",
		"19:00:08 debian-6.12    8.0s  running tests: suite 1/2 kprobe",
		"19:00:08 debian-6.12    8.0s  running tests: suite 2/2 tc",
		"19:00:09 debian-5.10  300.0s  FAILED: timeout: killed after 5m0s",
		"19:00:09 debian-6.12    9.0s  done: ok",
		"accelerator tcg",
	}
	assert.Equal(t, want, strings.Split(strings.TrimSpace(out), "\n"))
}

func TestLiveTTY(t *testing.T) {
	c := &clock{time.Date(2026, 11, 24, 19, 0, 0, 0, time.UTC)}
	var b bytes.Buffer
	l := New(&b, Options{TTY: true, Width: 100, Refresh: -1, Columns: []string{"debian-5.10", "debian-6.12"}, Now: c.now})
	l.Update(results.Progress{Column: "debian-6.12", Phase: results.PhaseFetching})
	c.t = c.t.Add(2 * time.Second)
	l.Download("debian-6.12", kernels.PhaseDownload, 0, 40e6)
	c.t = c.t.Add(2 * time.Second)
	l.Download("debian-6.12", kernels.PhaseDownload, 20e6, 40e6)
	l.Redraw()
	out := b.String()
	assert.Contains(t, out, "\x1b[2A", "redrawn in place")
	assert.Contains(t, out, "debian-6.12    4.0s  ")
	assert.Contains(t, out, "downloading [██████████░░░░░░░░░░] 20.0/40.0 MB  10.0 MB/s")
	assert.Contains(t, out, "debian-5.10          · queued")
	l.Update(results.Progress{Column: "debian-6.12+lsm-bpf", Phase: results.PhaseTesting, Suite: "lsm", SuiteIndex: 3, Suites: 3, Test: "TestLSMFileOpen/" + strings.Repeat("x", 100)})
	l.Log().Write([]byte("a log line\n"))
	l.Close()
	out = b.String()
	last := out[strings.LastIndex(out, "a log line"):]
	assert.Contains(t, last, "running tests 3/3 lsm  TestLSMFileOpen/xxx")
	for _, line := range strings.Split(last, "\n") {
		line = strings.TrimPrefix(line, "\r\x1b[2K")
		assert.LessOrEqual(t, len([]rune(line)), 100, "lines are cut to the width: %q", line)
	}
	assert.True(t, strings.HasSuffix(out, "\x1b[?25h"), "the cursor is shown again")
}

// TestLiveRetry checks that a column that runs again after its end
// (--retries) is running again, its time counted from its first start.
func TestLiveRetry(t *testing.T) {
	c := &clock{time.Date(2026, 11, 24, 19, 0, 0, 0, time.UTC)}
	var b bytes.Buffer
	l := New(&b, Options{Columns: []string{"debian-6.1"}, Now: c.now})
	l.Update(results.Progress{Column: "debian-6.1", Phase: results.PhaseBooting})
	c.t = c.t.Add(5 * time.Second)
	l.Update(results.Progress{Column: "debian-6.1", Phase: results.PhaseDone, Status: results.StatusOK})
	c.t = c.t.Add(time.Second)
	l.Update(results.Progress{Column: "debian-6.1", Phase: results.PhaseBooting})
	c.t = c.t.Add(3 * time.Second)
	l.Update(results.Progress{Column: "debian-6.1", Phase: results.PhaseDone, Status: results.StatusOK})
	l.Close()
	assert.Equal(t, []string{
		"19:00:00 debian-6.1    0.0s  booting",
		"19:00:05 debian-6.1    5.0s  done: ok",
		"19:00:06 debian-6.1    6.0s  booting",
		"19:00:09 debian-6.1    9.0s  done: ok",
	}, strings.Split(strings.TrimSpace(b.String()), "\n"))
}
