package collect

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/harness/results"
	"github.com/bpfmatrix/bpfmatrix/internal/wire"
)

func stream(t *testing.T, evs ...wire.Event) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	enc := wire.NewEncoder(&buf)
	for _, ev := range evs {
		require.NoError(t, enc.Encode(ev))
	}
	return &buf
}

func testEv(action, test, output string) wire.Event {
	return wire.Event{Type: wire.TypeTest, Test: &wire.TestEvent{Suite: "kprobe", Package: "p", Action: action, Test: test, Output: output, Elapsed: 0.5}}
}

var (
	hello = wire.Event{Type: wire.TypeHello, Hello: &wire.Hello{Release: "6.1.0"}}
	done  = wire.Event{Type: wire.TypeDone, Done: &wire.Done{Suites: 1}}
)

func TestCollector(t *testing.T) {
	helloSeen := false
	c := Read(stream(t,
		hello,
		testEv("run", "TestA", ""),
		testEv("output", "TestA", "=== RUN   TestA\n"),
		testEv("pass", "TestA", ""),
		testEv("run", "TestB", ""),
		testEv("output", "TestB", "    b_test.go:9: no PMU here\n"),
		testEv("output", "TestB", "--- SKIP: TestB (0.00s)\n"),
		testEv("skip", "TestB", ""),
		testEv("run", "TestC", ""),
		testEv("output", "TestC", "    c_test.go:3: got 1, want 2\n"),
		testEv("fail", "TestC", ""),
		wire.Event{Type: wire.TypeSuite, Suite: &wire.SuiteEnd{Suite: "kprobe", ExitCode: 1}},
		done,
	), Options{OnHello: func() { helloSeen = true }})
	assert.True(t, helloSeen)
	require.Empty(t, c.FrameErrors)
	got := c.Tests(results.StatusOK)
	require.Len(t, got, 3, "a suite that exited 1 with a failing test adds no synthetic failure")
	assert.Equal(t, results.Pass, got[0].Result)
	assert.Equal(t, results.Skip, got[1].Result)
	assert.Equal(t, "b_test.go:9: no PMU here", got[1].Reason)
	assert.Equal(t, results.Fail, got[2].Result)
	assert.Contains(t, got[2].Output, "want 2")
	assert.Equal(t, 0.5, got[0].Seconds)
}

func TestCollectorUnfinished(t *testing.T) {
	c := Read(stream(t, hello, testEv("run", "TestA", "")), Options{})
	got := c.Tests(results.StatusCrashed)
	require.Len(t, got, 1)
	assert.Equal(t, results.Fail, got[0].Result, "a test that never ended is a failure")
	assert.Contains(t, got[0].Reason, "crashed")
}

func TestCollectorSuiteFailedWithoutTests(t *testing.T) {
	c := Read(stream(t, hello,
		wire.Event{Type: wire.TypeTest, Test: &wire.TestEvent{Suite: "kprobe", Action: "output", Output: "panic: boom\n"}},
		wire.Event{Type: wire.TypeSuite, Suite: &wire.SuiteEnd{Suite: "kprobe", ExitCode: 2}},
		done), Options{})
	got := c.Tests(results.StatusOK)
	require.Len(t, got, 1)
	assert.Equal(t, results.Fail, got[0].Result)
	assert.Equal(t, "(suite)", got[0].Name)
	assert.Contains(t, got[0].Output, "panic: boom")
}

func TestCollectorGarbage(t *testing.T) {
	s := stream(t, hello, done)
	c := Read(strings.NewReader("\x00garbage\n"+s.String()+"BPFM1 9 zz\n"), Options{})
	assert.NotNil(t, c.Hello)
	assert.NotNil(t, c.Done)
	assert.Len(t, c.FrameErrors, 2)
}

// TestReadExec is a raw-exec boot read by the same consumer as the suites:
// output and exit kept, failed modules and guest lines in arrival order,
// bad frames capped, every event in the sink.
func TestReadExec(t *testing.T) {
	var s bytes.Buffer
	s.WriteString(stream(t,
		hello,
		wire.Event{Type: wire.TypeModule, Module: &wire.Module{Name: "veth", Error: "not found"}},
		wire.Event{Type: wire.TypeLog, Log: "mount tracefs: busy"},
		wire.Event{Type: wire.TypeOutput, Output: &wire.Output{Stream: wire.Stdout, Data: []byte("hi\n")}},
		wire.Event{Type: wire.TypeOutput, Output: &wire.Output{Stream: wire.Stderr, Data: []byte("oops\n")}},
		wire.Event{Type: wire.TypeExit, Exit: &wire.Exit{Code: 3}},
		done,
	).String())
	for range MaxFrameErrors + 5 {
		s.WriteString("garbage\n")
	}
	var sink bytes.Buffer
	c := Read(&s, Options{Sink: &sink})
	require.NotNil(t, c.Hello)
	require.NotNil(t, c.Done)
	require.NotNil(t, c.Exit)
	assert.Equal(t, 3, c.Exit.Code)
	require.Len(t, c.Output, 2)
	assert.Equal(t, "hi\n", string(c.Output[0].Data))
	assert.Equal(t, wire.Stderr, c.Output[1].Stream)
	assert.Equal(t, []string{"module veth: not found", "mount tracefs: busy"}, c.Diagnostics)
	assert.Equal(t, []string{"mount tracefs: busy"}, c.GuestLog)
	assert.Len(t, c.Modules, 1)
	assert.Len(t, c.FrameErrors, MaxFrameErrors, "bad frames are capped")
	assert.Equal(t, 7, strings.Count(sink.String(), "\n"), "every event reaches events.jsonl")
}

func TestCollectorCoverage(t *testing.T) {
	cov := func(suite, data string) wire.Event {
		return wire.Event{Type: wire.TypeCoverage, Cover: &wire.Coverage{Suite: suite, Data: []byte(data)}}
	}
	c := Read(stream(t, hello, cov("a", "mode: set\nx.go:1.1,2.2 1 "), cov("b", "mode: set\n"), cov("a", "1\n"), done), Options{})
	require.Empty(t, c.FrameErrors)
	assert.Equal(t, map[string][]byte{"a": []byte("mode: set\nx.go:1.1,2.2 1 1\n"), "b": []byte("mode: set\n")}, c.Coverage, "chunks of one suite joined in order")
}
