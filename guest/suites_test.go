package guest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/internal/wire"
)

var (
	fakeOnce            sync.Once
	fakeBinary, fakeT2J string
	fakeCover           string // the fake binary built with -cover
	fakeErr             error
	fakeDir             string
)

// fakeSuites builds testdata/fakesuites and test2json once.
func fakeSuites(t *testing.T) (binary, test2json string) {
	t.Helper()
	fakeOnce.Do(func() {
		fakeDir, fakeErr = os.MkdirTemp("", "bpfmatrix-guest-test-")
		if fakeErr != nil {
			return
		}
		fakeBinary = filepath.Join(fakeDir, "fake.test")
		fakeT2J = filepath.Join(fakeDir, "test2json")
		fakeCover = filepath.Join(fakeDir, "fake-cover.test")
		for _, args := range [][]string{
			{"test", "-c", "-o", fakeBinary, "./testdata/fakesuites"},
			{"test", "-c", "-cover", "-o", fakeCover, "./testdata/fakesuites"},
			{"build", "-o", fakeT2J, "cmd/test2json"},
		} {
			cmd := exec.Command("go", args...)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				fakeErr = errors.New(string(out))
				return
			}
		}
	})
	require.NoError(t, fakeErr)
	return fakeBinary, fakeT2J
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fakeDir != "" {
		os.RemoveAll(fakeDir)
	}
	os.Exit(code)
}

// groupResult is what the guest reported for one run of grouped suites.
type groupResult struct {
	tests   map[string]string // suite/test -> final action
	ends    map[string]*wire.SuiteEnd
	records map[string]string // suite/test -> mechanism
	logs    []string
	// early lists the tests whose record arrived before their result.
	early map[string]bool
}

func runGroup(t *testing.T, env []string, run string, timeout time.Duration, names ...string) groupResult {
	t.Helper()
	bin, t2j := fakeSuites(t)
	var suites []wire.Suite
	for _, n := range names {
		suites = append(suites, wire.Suite{Name: n, Package: "example.com/" + n, Binary: bin, Parent: "TestSuites", Run: run, Timeout: wire.Duration(timeout)})
	}
	var buf bytes.Buffer
	r := &Runner{Config: &wire.Config{Suites: suites, Env: env}, Enc: wire.NewEncoder(&buf), Test2JSON: t2j}
	require.NoError(t, r.Run(t.Context()))
	res := groupResult{tests: map[string]string{}, ends: map[string]*wire.SuiteEnd{}, records: map[string]string{}, early: map[string]bool{}}
	for _, ev := range decodeAll(t, &buf) {
		switch ev.Type {
		case wire.TypeTest:
			if ev.Test.Test != "" && ev.Test.Action != "output" {
				res.tests[ev.Test.Suite+"/"+ev.Test.Test] = ev.Test.Action
				assert.Equal(t, "example.com/"+ev.Test.Suite, ev.Test.Package, "events carry the suite's own package")
			}
		case wire.TypeSuite:
			res.ends[ev.Suite.Suite] = ev.Suite
		case wire.TypeRecord:
			key := ev.Record.Suite + "/" + ev.Record.Test
			res.records[key] = ev.Record.Mechanism
			if a := res.tests[key]; a == "" || a == "run" {
				res.early[key] = true
			}
		case wire.TypeLog:
			res.logs = append(res.logs, ev.Log)
		}
	}
	return res
}

func TestRunSuitesSharedBinary(t *testing.T) {
	res := runGroup(t, nil, "", time.Minute, "a", "b", "c")
	assert.Equal(t, map[string]string{
		"a/TestOne": "pass", "a/TestTwo": "pass",
		"b/TestOne": "pass", "b/TestTwo": "pass",
		"c/TestOne": "pass", "c/TestTwo": "fail",
	}, res.tests)
	require.Len(t, res.ends, 3)
	assert.Equal(t, 0, res.ends["a"].ExitCode)
	assert.Equal(t, 1, res.ends["c"].ExitCode, "a suite with a failing test")
	assert.Empty(t, res.ends["c"].Error)
	assert.Equal(t, "m-TestSuites/b/TestOne", res.records["b/TestOne"], "records are mapped to their suite and test")
	assert.Len(t, res.records, 3)
	// A kernel panic in a later suite must not take these records along:
	// each goes out before its test's result, not when the binary exits.
	assert.Equal(t, map[string]bool{"a/TestOne": true, "b/TestOne": true, "c/TestOne": true}, res.early)
}

func TestRunSuitesSelectsTests(t *testing.T) {
	res := runGroup(t, nil, "TestTwo$", time.Minute, "a", "c")
	assert.Equal(t, map[string]string{"a/TestTwo": "pass", "c/TestTwo": "fail"}, res.tests)
	assert.Len(t, res.ends, 2)
}

func TestRunSuitesRestartsAfterCrash(t *testing.T) {
	for _, tc := range []struct {
		mode, err, b string
		timeout      time.Duration
	}{
		// test2json fails the test that was running when the binary
		// exited, and exits 1 itself.
		{"exit", "the test binary exited with code 1 during this suite", "fail", time.Minute},
		// Killed: nobody ends the test; the host fails it.
		{"hang", "suite timed out after 2s", "run", 2 * time.Second},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			res := runGroup(t, []string{"FAKE_B=" + tc.mode}, "", tc.timeout, "a", "b", "c")
			assert.Equal(t, map[string]string{
				"a/TestOne": "pass", "a/TestTwo": "pass",
				"b/TestOne": tc.b,
				"c/TestOne": "pass", "c/TestTwo": "fail",
			}, res.tests, "b's test never ends; c runs in a new process")
			require.Contains(t, res.ends, "b")
			assert.Equal(t, tc.err, res.ends["b"].Error)
			assert.Equal(t, 1, res.ends["c"].ExitCode)
			assert.Contains(t, res.records, "b/TestOne", "records written before the crash survive")
			assert.True(t, slicesContain(res.logs, "starting it again for the 1 suite(s) after it"), "logs: %q", res.logs)
		})
	}
}

func TestRunSuitesMissingSuite(t *testing.T) {
	res := runGroup(t, nil, "", time.Minute, "a", "zzz")
	require.Contains(t, res.ends, "zzz")
	assert.Contains(t, res.ends["zzz"].Error, "the test binary ran no TestSuites/zzz")
	assert.Equal(t, "pass", res.tests["a/TestOne"])
}

// TestRunApartConcurrently runs binaries that are suites of their own
// (no parent) at once, up to Parallel, each in its own working directory,
// and sends back the coverage profile of each.
func TestRunApartConcurrently(t *testing.T) {
	_, t2j := fakeSuites(t)
	barrier := t.TempDir()
	var suites []wire.Suite
	for _, n := range []string{"p1", "p2", "p3"} {
		dir := filepath.Join(t.TempDir(), n)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		suites = append(suites, wire.Suite{Name: n, Package: "example.com/" + n, Binary: fakeCover, Run: "^TestApart$", Dir: dir, CoverProfile: true, Timeout: wire.Duration(time.Minute)})
	}
	var buf bytes.Buffer
	r := &Runner{Config: &wire.Config{Suites: suites, Parallel: 3, Env: []string{"FAKE_BARRIER=" + barrier, "FAKE_N=3"}}, Enc: wire.NewEncoder(&buf), Test2JSON: t2j}
	require.NoError(t, r.Run(t.Context()))
	results, cwd, cover := map[string]string{}, map[string]string{}, map[string]string{}
	for _, ev := range decodeAll(t, &buf) {
		switch {
		case ev.Type == wire.TypeTest && ev.Test.Test == "TestApart":
			if ev.Test.Action == "output" {
				if _, d, ok := strings.Cut(strings.TrimSpace(ev.Test.Output), "cwd="); ok {
					cwd[ev.Test.Suite] = d
				}
			} else {
				results[ev.Test.Suite] = ev.Test.Action
			}
		case ev.Type == wire.TypeCoverage:
			cover[ev.Cover.Suite] += string(ev.Cover.Data)
		}
	}
	assert.Equal(t, map[string]string{"p1": "pass", "p2": "pass", "p3": "pass"}, results, "all three at the barrier at once")
	for _, s := range suites {
		assert.Equal(t, s.Dir, cwd[s.Name], "%s runs in its package directory", s.Name)
		assert.True(t, strings.HasPrefix(cover[s.Name], "mode: set\n"), "%s: coverage %q", s.Name, cover[s.Name])
		assert.Contains(t, cover[s.Name], "fakesuites/fake.go:", s.Name)
	}
}

func TestGroupSuites(t *testing.T) {
	s := func(name, bin, parent string) wire.Suite { return wire.Suite{Name: name, Binary: bin, Parent: parent} }
	got := groupSuites([]wire.Suite{s("a", "x", "P"), s("b", "x", "P"), s("c", "y", ""), s("d", "y", ""), s("e", "x", "P")})
	var names [][]string
	for _, g := range got {
		var n []string
		for _, s := range g {
			n = append(n, s.Name)
		}
		names = append(names, n)
	}
	assert.Equal(t, [][]string{{"a", "b"}, {"c"}, {"d"}, {"e"}}, names)
}

func slicesContain(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

func TestParseInitRecord(t *testing.T) {
	for _, tc := range []struct {
		rec  string
		want float64
		ok   bool
	}{
		{"6,312,2612345,-;Run /init as init process\n", 2.612345, true},
		{"6,312,2612345,-;Run /init as init process\n with arguments:", 2.612345, true},
		{"6,312,2612345,-;Freeing unused kernel image", 0, false},
		{"6,312,x,-;Run /init as init process", 0, false},
		{"6,312;Run /init as init process", 0, false},
		{"garbage", 0, false},
		{"", 0, false},
	} {
		got, ok := parseInitRecord(tc.rec)
		assert.Equal(t, tc.ok, ok, tc.rec)
		assert.InDelta(t, tc.want, got, 1e-9, tc.rec)
	}
}
