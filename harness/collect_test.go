package harness

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/harness/results"
	"github.com/bpfmatrix/bpfmatrix/internal/wire"
	"github.com/bpfmatrix/bpfmatrix/vm"
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
	c := newCollector()
	helloSeen := false
	c.consume(stream(t,
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
	), func() { helloSeen = true })
	assert.True(t, helloSeen)
	require.Empty(t, c.frameErrs)
	got := c.results(results.StatusOK)
	require.Len(t, got, 3, "a suite that exited 1 with a failing test adds no synthetic failure")
	assert.Equal(t, results.Pass, got[0].Result)
	assert.Equal(t, results.Skip, got[1].Result)
	assert.Equal(t, "b_test.go:9: no PMU here", got[1].Reason)
	assert.Equal(t, results.Fail, got[2].Result)
	assert.Contains(t, got[2].Output, "want 2")
	assert.Equal(t, 0.5, got[0].Seconds)
}

func TestCollectorUnfinished(t *testing.T) {
	c := newCollector()
	c.consume(stream(t, hello, testEv("run", "TestA", "")), nil)
	got := c.results(results.StatusCrashed)
	require.Len(t, got, 1)
	assert.Equal(t, results.Fail, got[0].Result, "a test that never ended is a failure")
	assert.Contains(t, got[0].Reason, "crashed")
}

func TestCollectorSuiteFailedWithoutTests(t *testing.T) {
	c := newCollector()
	c.consume(stream(t, hello,
		wire.Event{Type: wire.TypeTest, Test: &wire.TestEvent{Suite: "kprobe", Action: "output", Output: "panic: boom\n"}},
		wire.Event{Type: wire.TypeSuite, Suite: &wire.SuiteEnd{Suite: "kprobe", ExitCode: 2}},
		done), nil)
	got := c.results(results.StatusOK)
	require.Len(t, got, 1)
	assert.Equal(t, results.Fail, got[0].Result)
	assert.Equal(t, "(suite)", got[0].Name)
	assert.Contains(t, got[0].Output, "panic: boom")
}

func TestCollectorGarbage(t *testing.T) {
	c := newCollector()
	s := stream(t, hello, done)
	c.consume(strings.NewReader("\x00garbage\n"+s.String()+"BPFM1 9 zz\n"), nil)
	assert.NotNil(t, c.hello)
	assert.NotNil(t, c.done)
	assert.Len(t, c.frameErrs, 2)
}

func TestStatus(t *testing.T) {
	withHello := func() *collector { c := newCollector(); c.hello = &hello; return c }
	complete := func() *collector { c := withHello(); c.done = &done; return c }
	tests := []struct {
		name string
		exit vm.Exit
		c    *collector
		want results.Status
	}{
		{"ok", vm.Exit{Reason: vm.ReasonExited}, complete(), results.StatusOK},
		{"no done", vm.Exit{Reason: vm.ReasonExited}, withHello(), results.StatusCrashed},
		{"no hello", vm.Exit{Reason: vm.ReasonExited, Err: errors.New("qemu exited with code 1")}, newCollector(), results.StatusBootFailed},
		{"timeout beats done", vm.Exit{Reason: vm.ReasonTimeout}, complete(), results.StatusTimeout},
		{"panic", vm.Exit{Reason: vm.ReasonPanic, PanicLines: []string{"Kernel panic - not syncing: x"}}, withHello(), results.StatusPanic},
		{"canceled", vm.Exit{Reason: vm.ReasonCanceled}, withHello(), results.StatusInterrupted},
		{"killed", vm.Exit{Reason: vm.ReasonKilled, Err: errors.New("qemu killed by killed")}, withHello(), results.StatusCrashed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, msg := status(&tt.exit, tt.c)
			assert.Equal(t, tt.want, got, msg)
		})
	}
}

func TestSelectSuites(t *testing.T) {
	s, err := SelectSuites("")
	require.NoError(t, err)
	assert.Equal(t, Builtin, s)
	s, err = SelectSuites("^(kprobe|tc)$")
	require.NoError(t, err)
	assert.Len(t, s, 2)
	s, err = SelectSuites("^kprobe$")
	require.NoError(t, err)
	require.Len(t, s, 1)
	_, err = SelectSuites("nosuch")
	require.ErrorContains(t, err, "matches no suite")
	assert.ErrorContains(t, err, "kprobe")
	_, err = SelectSuites("(")
	require.ErrorContains(t, err, "not a valid regular expression")
}
