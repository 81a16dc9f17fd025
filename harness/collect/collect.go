// Package collect is the one consumer of a guest's result channel: it
// decodes the framed events of one boot (package internal/wire), keeps what
// they say (the guest's hello, modules, logs, test events and records, a
// raw-exec program's output and exit, the done event) and turns the test
// events into the column's test results. Every boot reads its channel
// through [Read], whatever the guest was asked to do.
package collect

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

// Bounds on what one boot keeps: a guest that floods its channel costs
// memory, not the host.
const (
	// MaxOutput bounds the output kept per test.
	MaxOutput = 64 << 10
	// MaxFrameErrors bounds the bad frames reported.
	MaxFrameErrors = 100
	// MaxLog bounds the guest's diagnostic lines kept.
	MaxLog = 500
)

// Options configure [Read].
type Options struct {
	// OnHello, if set, is called when the guest reports in.
	OnHello func()
	// OnTest, if set, is told when a test starts: its suite, the suite's
	// 1-based index and the test's name.
	OnTest func(suite string, index int, test string)
	// Sink, if set, receives every decoded event as a JSON line as it
	// arrives (events.jsonl), so that a crash of bpfmatrix itself loses at
	// most what was in flight.
	Sink io.Writer
}

// Events is what one boot's result channel said.
type Events struct {
	// Hello and Done are the first hello and the done event; nil if the
	// guest sent none. HelloAt and DoneAt are when they arrived.
	Hello, Done     *wire.Event
	HelloAt, DoneAt time.Time
	// Modules are the guest's module loads, failed ones included.
	Modules []wire.Module
	// FrameErrors describe rejected and lost frames (at most
	// MaxFrameErrors rejected ones).
	FrameErrors []string
	// GuestLog are the guest program's diagnostic lines.
	GuestLog []string
	// Diagnostics are the guest's log lines and failed module loads, in
	// the order they arrived: what explains a raw-exec run that ended
	// early.
	Diagnostics []string
	// Output and Exit are a raw-exec program's output and end.
	Output []wire.Output
	Exit   *wire.Exit
	// Splats are the kernel splats the guest found in the kernel log (at
	// most MaxSplats).
	Splats []wire.Splat
	// Coverage holds each suite's coverage profile, as its binary wrote
	// it (see wire.Suite.CoverProfile).
	Coverage map[string][]byte

	opts       Options
	suites     map[string]*wire.SuiteEnd
	tests      map[string]*results.TestResult
	records    map[string][]wire.Record
	order      []string
	pkgOutput  map[string]*strings.Builder // suite -> output outside any test
	pkgOutcome map[string]string
}

// SuiteSeconds returns how long each suite's binary ran, by suite name,
// as the guest measured it.
func (e *Events) SuiteSeconds() map[string]float64 {
	out := map[string]float64{}
	for name, s := range e.suites {
		out[name] = s.Seconds
	}
	return out
}

// MaxSplats bounds the kernel splats kept from one guest: a kernel that
// warns in a loop must not fill the results.
const MaxSplats = 16

// New returns an empty Events that [Events.Add] fills.
func New(opts Options) *Events {
	return &Events{
		opts:       opts,
		suites:     map[string]*wire.SuiteEnd{},
		tests:      map[string]*results.TestResult{},
		records:    map[string][]wire.Record{},
		pkgOutput:  map[string]*strings.Builder{},
		pkgOutcome: map[string]string{},
	}
}

// Read reads the result channel r to its end.
func Read(r io.Reader, opts Options) *Events {
	e := New(opts)
	dec := wire.NewDecoder(r)
	for {
		ev, err := dec.Next()
		if errors.Is(err, io.EOF) {
			return e
		}
		var fe *wire.FrameError
		if errors.As(err, &fe) {
			if len(e.FrameErrors) < MaxFrameErrors {
				e.FrameErrors = append(e.FrameErrors, fe.Error())
			}
			continue
		}
		if err != nil {
			e.FrameErrors = append(e.FrameErrors, "result channel: "+err.Error())
			return e
		}
		if e.opts.Sink != nil {
			if b, err := json.Marshal(ev); err == nil {
				e.opts.Sink.Write(append(b, '\n'))
			}
		}
		if ev.Lost > 0 {
			e.FrameErrors = append(e.FrameErrors, fmt.Sprintf("%d frame(s) lost before frame %d", ev.Lost, ev.Seq))
		}
		e.Add(ev)
	}
}

// Add records one event.
func (e *Events) Add(ev wire.Event) {
	switch ev.Type {
	case wire.TypeHello:
		if e.Hello == nil {
			e.Hello = &ev
			e.HelloAt = time.Now()
			if e.opts.OnHello != nil {
				e.opts.OnHello()
			}
		}
	case wire.TypeModule:
		e.Modules = append(e.Modules, *ev.Module)
		if ev.Module.Error != "" {
			e.diagnose(fmt.Sprintf("module %s: %s", ev.Module.Name, ev.Module.Error))
		}
	case wire.TypeLog:
		if len(e.GuestLog) < MaxLog {
			e.GuestLog = append(e.GuestLog, ev.Log)
		}
		e.diagnose(ev.Log)
	case wire.TypeSuite:
		e.suites[ev.Suite.Suite] = ev.Suite
	case wire.TypeTest:
		e.addTest(ev.Test)
	case wire.TypeRecord:
		key := ev.Record.Suite + "/" + ev.Record.Test
		e.records[key] = append(e.records[key], *ev.Record)
	case wire.TypeOutput:
		e.Output = append(e.Output, *ev.Output)
	case wire.TypeExit:
		e.Exit = ev.Exit
	case wire.TypeDone:
		e.Done = &ev
		e.DoneAt = time.Now()
	case wire.TypeCoverage:
		if e.Coverage == nil {
			e.Coverage = map[string][]byte{}
		}
		e.Coverage[ev.Cover.Suite] = append(e.Coverage[ev.Cover.Suite], ev.Cover.Data...)
	case wire.TypeSplat:
		if len(e.Splats) < MaxSplats {
			e.Splats = append(e.Splats, *ev.Splat)
		}
	}
}

func (e *Events) diagnose(line string) {
	if len(e.Diagnostics) < MaxLog {
		e.Diagnostics = append(e.Diagnostics, line)
	}
}

func (e *Events) addTest(te *wire.TestEvent) {
	if te.Test == "" {
		b := e.pkgOutput[te.Suite]
		if b == nil {
			b = &strings.Builder{}
			e.pkgOutput[te.Suite] = b
		}
		if te.Output != "" && b.Len() < MaxOutput {
			b.WriteString(te.Output)
		}
		switch te.Action {
		case "pass", "fail", "skip":
			e.pkgOutcome[te.Suite] = te.Action
		}
		return
	}
	key := te.Suite + "/" + te.Test
	t := e.tests[key]
	if t == nil {
		t = &results.TestResult{Suite: te.Suite, Package: te.Package, Name: te.Test}
		e.tests[key] = t
		e.order = append(e.order, key)
	}
	switch te.Action {
	case "run":
		if e.opts.OnTest != nil {
			e.opts.OnTest(te.Suite, len(e.suites)+1, te.Test)
		}
	case "output":
		if len(t.Output) < MaxOutput {
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

// Tests returns the tests in the order they started. A test that started
// but never ended fails, and so does a suite whose binary failed without a
// failing test (e.g. a panic in TestMain, or a build for the wrong arch).
func (e *Events) Tests(vmStatus results.Status) []results.TestResult {
	var out []results.TestResult
	for _, key := range e.order {
		t := *e.tests[key]
		if t.Result == "" {
			t.Result = results.Fail
			t.Reason = fmt.Sprintf("the test never finished (VM status %s)", vmStatus)
		}
		applyRecords(&t, e.records[key])
		out = append(out, t)
	}
	for name, end := range e.suites {
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
			out = append(out, results.TestResult{Suite: name, Name: "(suite)", Result: results.Fail, Reason: reason, Output: e.output(name)})
		}
	}
	return out
}

func (e *Events) output(suite string) string {
	if b := e.pkgOutput[suite]; b != nil {
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
