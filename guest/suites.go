package guest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bpfmatrix/bpfmatrix/internal/wire"
)

// runSuites runs suites that share one test binary: several subtests of
// one Parent, or a single suite whose binary is all its own. A binary that
// crashes or times out in one suite is started again for the suites that
// had not started, so one bad test costs its suite, not the rest.
func (r *Runner) runSuites(ctx context.Context, suites []wire.Suite) {
	for attempt := 1; len(suites) > 0; attempt++ {
		b := &binaryRun{r: r, suites: suites, attempt: attempt, state: map[string]*suiteState{}}
		b.run(ctx)
		var left []wire.Suite
		for _, s := range suites {
			if b.state[s.Name] == nil {
				left = append(left, s)
			}
		}
		if len(left) == len(suites) {
			// Nothing started: starting again would fail the same way.
			for _, s := range left {
				r.Enc.Encode(wire.Event{Type: wire.TypeSuite, Suite: &wire.SuiteEnd{
					Suite: s.Name, ExitCode: b.exitCode(),
					Error: fmt.Sprintf("the test binary ran no %s (%s)", b.testName(s), b.outcome()),
				}})
			}
			return
		}
		if len(left) > 0 {
			r.Enc.Encode(wire.Event{Type: wire.TypeLog, Log: fmt.Sprintf("%s %s: starting it again for the %d suite(s) after it", b.binaryName(), b.outcome(), len(left))})
		}
		suites = left
		if ctx.Err() != nil {
			return
		}
	}
}

// suiteState follows one suite through a run of its binary.
type suiteState struct {
	start time.Time
	ended bool
	timer *time.Timer
}

// binaryRun is one process of a test binary (under test2json) and the
// suites it runs.
type binaryRun struct {
	r       *Runner
	suites  []wire.Suite
	attempt int

	mu       sync.Mutex
	state    map[string]*suiteState // suites that started
	current  string                 // the suite running now
	timedOut string                 // the suite whose timeout killed the process
	err      error                  // how the process ended

	records string // the file the tests append their records to
	sent    int64  // how much of it has been forwarded
}

func (b *binaryRun) parent() string { return b.suites[0].Parent }

// binaryName is the test binary's file name, for messages and its
// working directory.
func (b *binaryRun) binaryName() string { return filepath.Base(b.suites[0].Binary) }

// testName is what the binary calls suite s's tests.
func (b *binaryRun) testName(s wire.Suite) string {
	if b.parent() == "" {
		return "test of " + s.Name
	}
	return b.parent() + "/" + s.Name
}

// runPattern is -test.run for the suites: the parent, the suites by name,
// then the suites' own selection one level down.
func (b *binaryRun) runPattern() string {
	run := b.suites[0].Run
	if b.parent() == "" {
		return run
	}
	var names []string
	for _, s := range b.suites {
		names = append(names, regexp.QuoteMeta(s.Name))
	}
	p := "^" + regexp.QuoteMeta(b.parent()) + "$/^(" + strings.Join(names, "|") + ")$"
	if run != "" {
		p += "/" + run
	}
	return p
}

func (b *binaryRun) suite(name string) (wire.Suite, bool) {
	for _, s := range b.suites {
		if s.Name == name {
			return s, true
		}
	}
	return wire.Suite{}, false
}

func (b *binaryRun) run(ctx context.Context) {
	first := b.suites[0]
	// One directory per run of a binary: binaries run at once, and two
	// suites may share a binary's name (util.test of two packages).
	dir := filepath.Join("/tmp", fmt.Sprintf("%s-%s-%d", b.binaryName(), strings.ReplaceAll(first.Name, "/", "_"), b.attempt))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.err = err
		return
	}
	args := []string{"-t", "-p", first.Package, first.Binary, "-test.v=test2json"}
	if p := b.runPattern(); p != "" {
		args = append(args, "-test.run="+p)
	}
	args = append(args, first.Args...)
	cover := ""
	if first.CoverProfile {
		cover = filepath.Join(dir, "cover.out")
		args = append(args, "-test.coverprofile="+cover)
	}
	cmd := exec.CommandContext(ctx, b.r.test2json(), args...)
	cmd.Dir = dir
	if first.Dir != "" {
		cmd.Dir = first.Dir // the package directory, as go test runs it
	}
	b.records = filepath.Join(dir, "records.jsonl")
	cmd.Env = append(os.Environ(), wire.EnvGuest+"=1", wire.EnvRecords+"="+b.records, "HOME=/tmp")
	cmd.Env = append(cmd.Env, b.r.Config.Env...)
	cmd.Stderr = &logWriter{enc: b.r.Enc, prefix: b.binaryName() + ": "}
	// Its own process group, so that a kill reaches the test binary and
	// whatever it started, not only test2json.
	cmd.SysProcAttr = &unix.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return unix.Kill(-cmd.Process.Pid, unix.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.StdoutPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		b.err = err
		return
	}
	if b.parent() == "" {
		b.startSuite(first.Name, cmd)
	}
	b.forward(out, cmd)
	b.err = cmd.Wait()
	b.mu.Lock()
	for _, st := range b.state {
		if st.timer != nil {
			st.timer.Stop()
		}
	}
	b.mu.Unlock()
	b.sendRecords(true)
	if cover != "" {
		b.sendCoverage(first.Name, cover)
	}
	if b.parent() == "" {
		b.endSuite(first.Name, -1, false)
	} else if b.current != "" && !b.state[b.current].ended {
		b.endSuite(b.current, -1, false)
	}
}

// startSuite marks a suite as running and arms its timeout.
func (b *binaryRun) startSuite(name string, cmd *exec.Cmd) {
	s, ok := b.suite(name)
	if !ok || b.state[name] != nil {
		return
	}
	st := &suiteState{start: time.Now()}
	if s.Timeout > 0 {
		st.timer = time.AfterFunc(time.Duration(s.Timeout), func() {
			b.mu.Lock()
			b.timedOut = name
			b.mu.Unlock()
			cmd.Cancel()
		})
	}
	b.mu.Lock()
	b.state[name] = st
	b.current = name
	b.mu.Unlock()
}

// endSuite reports a suite's end: from its own pass or fail event when
// elapsed >= 0, else from how the process ended.
func (b *binaryRun) endSuite(name string, elapsed float64, failed bool) {
	b.mu.Lock()
	st := b.state[name]
	if st == nil || st.ended {
		b.mu.Unlock()
		return
	}
	st.ended = true
	if st.timer != nil {
		st.timer.Stop()
	}
	timedOut := b.timedOut == name
	b.mu.Unlock()
	end := &wire.SuiteEnd{Suite: name, Seconds: elapsed}
	if elapsed < 0 {
		end.Seconds = time.Since(st.start).Seconds()
		s, _ := b.suite(name)
		end.ExitCode = b.exitCode()
		switch {
		case timedOut:
			end.ExitCode = -1
			end.Error = fmt.Sprintf("suite timed out after %s", time.Duration(s.Timeout))
		case b.parent() != "":
			end.Error = fmt.Sprintf("the test binary %s during this suite", b.outcome())
		case b.err != nil && end.ExitCode < 0:
			end.Error = b.err.Error()
		}
	} else if failed {
		end.ExitCode = 1
	}
	b.r.Enc.Encode(wire.Event{Type: wire.TypeSuite, Suite: end})
}

// exitCode is the process's exit code, or -1 if it did not exit by itself.
func (b *binaryRun) exitCode() int {
	var exit *exec.ExitError
	switch {
	case b.err == nil:
		return 0
	case errors.As(b.err, &exit):
		return exit.ExitCode()
	}
	return -1
}

// outcome says how the process ended, for messages.
func (b *binaryRun) outcome() string {
	var exit *exec.ExitError
	switch {
	case b.err == nil:
		return "exited with code 0"
	case errors.As(b.err, &exit) && exit.ExitCode() >= 0:
		return fmt.Sprintf("exited with code %d", exit.ExitCode())
	}
	return "ended: " + b.err.Error()
}

// split maps a test name of the binary to its suite and the test's name in
// that suite ("TestSuites/kprobe/TestKprobe" is kprobe, TestKprobe). The
// suite's own test has an empty test name; the parent's, an empty suite.
func (b *binaryRun) split(name string) (suite, test string) {
	if b.parent() == "" {
		return b.suites[0].Name, name
	}
	if name == "" || name == b.parent() {
		return "", ""
	}
	rest, ok := strings.CutPrefix(name, b.parent()+"/")
	if !ok {
		return "", name
	}
	suite, test, _ = strings.Cut(rest, "/")
	return suite, test
}

// forward turns test2json's output into test events of the right suites.
// A line that is not JSON (it should not happen) is forwarded as output so
// nothing is lost.
func (b *binaryRun) forward(out io.Reader, cmd *exec.Cmd) {
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), wire.MaxFrame/2)
	for sc.Scan() {
		ev := &wire.TestEvent{}
		if err := json.Unmarshal(sc.Bytes(), ev); err != nil || ev.Action == "" {
			ev = &wire.TestEvent{Action: "output", Output: sc.Text() + "\n"}
		}
		suite, test := b.split(ev.Test)
		if b.parent() != "" && test == "" {
			if _, ok := b.suite(suite); ok {
				switch ev.Action {
				case "run":
					b.startSuite(suite, cmd)
				case "pass", "skip":
					b.endSuite(suite, ev.Elapsed, false)
				case "fail":
					b.endSuite(suite, ev.Elapsed, true)
				}
			} else {
				suite = b.current // the parent's or the package's own lines
			}
			if ev.Action != "output" {
				continue
			}
			if suite == "" {
				suite = b.suites[0].Name
			}
		}
		if ev.Action == "pass" || ev.Action == "fail" || ev.Action == "skip" {
			// The test's records go out with its result, not when the
			// binary ends: a kernel panic later must not take them along.
			b.sendRecords(false)
		}
		s, _ := b.suite(suite)
		ev.Suite, ev.Test = suite, test
		if s.Package != "" {
			ev.Package = s.Package
		}
		b.r.Enc.Encode(wire.Event{Type: wire.TypeTest, Test: ev})
	}
	if err := sc.Err(); err != nil {
		b.r.Enc.Encode(wire.Event{Type: wire.TypeLog, Log: fmt.Sprintf("%s: reading test2json output: %v", b.binaryName(), err)})
	}
}

// sendRecords forwards the complete records the tests have written since
// the last call. It runs at every test's end and, with final set, once more
// after the binary exits, so records survive a crash of the binary or of the
// kernel that comes after them. Until final, an unfinished line waits for
// the rest of it.
func (b *binaryRun) sendRecords(final bool) {
	f, err := os.Open(b.records)
	if err != nil {
		return // no test has reported a record yet
	}
	defer f.Close()
	data, err := io.ReadAll(io.NewSectionReader(f, b.sent, wire.MaxFrame))
	if err != nil {
		b.r.Enc.Encode(wire.Event{Type: wire.TypeLog, Log: fmt.Sprintf("%s: reading records: %v", b.binaryName(), err)})
		return
	}
	end := strings.LastIndexByte(string(data), '\n') + 1
	if final || (end == 0 && len(data) == wire.MaxFrame) {
		end = len(data) // the last line, or one too long to ever end
	}
	b.sent += int64(end)
	for _, line := range strings.Split(string(data[:end]), "\n") {
		if line == "" {
			continue
		}
		var rec wire.Record
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.Test == "" {
			b.r.Enc.Encode(wire.Event{Type: wire.TypeLog, Log: fmt.Sprintf("%s: bad record %q", b.binaryName(), line)})
			continue
		}
		suite, test := b.split(rec.Test)
		if _, ok := b.suite(suite); !ok || test == "" {
			b.r.Enc.Encode(wire.Event{Type: wire.TypeLog, Log: fmt.Sprintf("%s: record of a test outside its suites %q", b.binaryName(), line)})
			continue
		}
		rec.Suite, rec.Test = suite, test
		b.r.Enc.Encode(wire.Event{Type: wire.TypeRecord, Record: &rec})
	}
}

// sendCoverage sends the coverage profile the binary wrote to path, in
// chunks, before the suite's end. A binary that died before writing one
// sends nothing.
func (b *binaryRun) sendCoverage(suite, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			b.r.Enc.Encode(wire.Event{Type: wire.TypeLog, Log: fmt.Sprintf("%s: coverage profile: %v", b.binaryName(), err)})
		}
		return
	}
	for len(data) > 0 {
		n := min(len(data), wire.MaxCoverageChunk)
		b.r.Enc.Encode(wire.Event{Type: wire.TypeCoverage, Cover: &wire.Coverage{Suite: suite, Data: data[:n]}})
		data = data[n:]
	}
}
