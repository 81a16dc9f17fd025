package harness

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/results"
	"github.com/bpfmatrix/bpfmatrix/internal/wire"
)

// maxOutput bounds the output kept per test.
const maxOutput = 64 << 10

// collector turns the guest's events into test results.
type collector struct {
	hello, done *wire.Event
	helloAt     time.Time
	doneAt      time.Time
	modules     []wire.Module
	frameErrs   []string
	guestLog    []string
	suites      map[string]*wire.SuiteEnd
	tests       map[string]*results.TestResult
	records     map[string][]wire.Record
	order       []string
	pkgOutput   map[string]*strings.Builder // suite -> output outside any test
	pkgOutcome  map[string]string
	// onTest, if set, is told when a test starts: its suite, the suite's
	// 1-based index and the test's name.
	onTest func(suite string, index int, test string)
	// sink, if set, receives every decoded event as a JSON line as it
	// arrives, so a crash of bpfmatrix itself loses at most what was in
	// flight.
	sink io.Writer
}

func newCollector() *collector {
	return &collector{
		suites:     map[string]*wire.SuiteEnd{},
		tests:      map[string]*results.TestResult{},
		records:    map[string][]wire.Record{},
		pkgOutput:  map[string]*strings.Builder{},
		pkgOutcome: map[string]string{},
	}
}

// consume reads the result channel to its end. onHello is called when the
// guest reports in.
func (c *collector) consume(r io.Reader, onHello func()) {
	dec := wire.NewDecoder(r)
	for {
		ev, err := dec.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		var fe *wire.FrameError
		if errors.As(err, &fe) {
			if len(c.frameErrs) < 100 {
				c.frameErrs = append(c.frameErrs, fe.Error())
			}
			continue
		}
		if err != nil {
			c.frameErrs = append(c.frameErrs, "result channel: "+err.Error())
			return
		}
		if c.sink != nil {
			if b, err := json.Marshal(ev); err == nil {
				c.sink.Write(append(b, '\n'))
			}
		}
		if ev.Lost > 0 {
			c.frameErrs = append(c.frameErrs, fmt.Sprintf("%d frame(s) lost before frame %d", ev.Lost, ev.Seq))
		}
		c.add(ev, onHello)
	}
}

func (c *collector) add(ev wire.Event, onHello func()) {
	switch ev.Type {
	case wire.TypeHello:
		if c.hello == nil {
			c.hello = &ev
			c.helloAt = time.Now()
			if onHello != nil {
				onHello()
			}
		}
	case wire.TypeModule:
		c.modules = append(c.modules, *ev.Module)
	case wire.TypeLog:
		if len(c.guestLog) < 500 {
			c.guestLog = append(c.guestLog, ev.Log)
		}
	case wire.TypeSuite:
		c.suites[ev.Suite.Suite] = ev.Suite
	case wire.TypeTest:
		c.addTest(ev.Test)
	case wire.TypeRecord:
		key := ev.Record.Suite + "/" + ev.Record.Test
		c.records[key] = append(c.records[key], *ev.Record)
	case wire.TypeDone:
		c.done = &ev
		c.doneAt = time.Now()
	}
}

func (c *collector) addTest(te *wire.TestEvent) {
	if te.Test == "" {
		b := c.pkgOutput[te.Suite]
		if b == nil {
			b = &strings.Builder{}
			c.pkgOutput[te.Suite] = b
		}
		if te.Output != "" && b.Len() < maxOutput {
			b.WriteString(te.Output)
		}
		switch te.Action {
		case "pass", "fail", "skip":
			c.pkgOutcome[te.Suite] = te.Action
		}
		return
	}
	key := te.Suite + "/" + te.Test
	t := c.tests[key]
	if t == nil {
		t = &results.TestResult{Suite: te.Suite, Package: te.Package, Name: te.Test}
		c.tests[key] = t
		c.order = append(c.order, key)
	}
	switch te.Action {
	case "run":
		if c.onTest != nil {
			c.onTest(te.Suite, len(c.suites)+1, te.Test)
		}
	case "output":
		if len(t.Output) < maxOutput {
			t.Output += te.Output
		}
	case "pass", "fail", "skip":
		t.Result = results.Outcome(te.Action)
		t.Seconds = te.Elapsed
		if te.Action == "skip" {
			t.Reason = skipReason(t.Output)
		}
	}
}

// results returns the tests in the order they started. A test that started
// but never ended fails, and so does a suite whose binary failed without a
// failing test (e.g. a panic in TestMain, or a build for the wrong arch).
func (c *collector) results(vmStatus results.Status) []results.TestResult {
	var out []results.TestResult
	for _, key := range c.order {
		t := *c.tests[key]
		if t.Result == "" {
			t.Result = results.Fail
			t.Reason = fmt.Sprintf("the test never finished (VM status %s)", vmStatus)
		}
		applyRecords(&t, c.records[key])
		out = append(out, t)
	}
	for name, end := range c.suites {
		if end.ExitCode == 0 && end.Error == "" {
			continue
		}
		failed := false
		for _, t := range out {
			if t.Suite == name && t.Result == results.Fail {
				failed = true
			}
		}
		if !failed {
			reason := fmt.Sprintf("test binary exited with code %d", end.ExitCode)
			if end.Error != "" {
				reason = end.Error
			}
			out = append(out, results.TestResult{Suite: name, Name: "(suite)", Result: results.Fail, Reason: reason, Output: c.output(name)})
		}
	}
	return out
}

func (c *collector) output(suite string) string {
	if b := c.pkgOutput[suite]; b != nil {
		return b.String()
	}
	return ""
}

// applyRecords adds what the test reported about itself. A skip is
// "unsupported" only when the test recorded the kernel's refusal; a record
// of unsupported on a test that failed leaves it failed.
func applyRecords(t *results.TestResult, recs []wire.Record) {
	for _, r := range recs {
		if r.Hook != "" {
			t.Hook = r.Hook
		}
		if r.Mechanism != "" {
			t.Mechanism = r.Mechanism
		}
		t.Events += r.Events
		if r.Unsupported != "" && t.Result == results.Skip {
			t.Result = results.Unsupported
			t.Reason = r.Unsupported
		}
	}
}

// skipReason extracts the t.Skip message from a skipped test's output.
func skipReason(output string) string {
	var lines []string
	for _, l := range strings.Split(output, "\n") {
		trimmed := strings.TrimSpace(l)
		if trimmed == "" || strings.HasPrefix(trimmed, "=== ") || strings.HasPrefix(trimmed, "--- SKIP") {
			continue
		}
		lines = append(lines, trimmed)
	}
	return strings.Join(lines, "; ")
}
