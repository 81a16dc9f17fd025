package report

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/harness/report/internal/fixture"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

// TestFlakyInEveryFormat checks that a flaky and a known-flaky cell are
// named as such in every format, with the failed run's output, and that
// neither fails the run unless FailOnFlaky.
func TestFlakyInEveryFormat(t *testing.T) {
	r := fixture.Flaky(t)
	assert.True(t, r.OK(), "flaky and known-flaky do not fail the run by default")

	txt := render(t, r, FormatText)
	for _, want := range []string{
		"≈", "≋", "≈ flaky: failed, then passed when run again",
		"~~ FLAKY kprobe/TestKprobe on debian-5.10: failed, then passed on attempt 2 of 2: event 0: got pid 1, want 312",
		"kprobe_test.go:41: event 0: got pid 1, want 312",
		"~~ KNOWN FLAKY kprobe/TestKretprobe on debian-5.10: failed 2 times; known flaky here: perf buffer wakeups lost under TCG (issue 12)",
		"no longer flaky: tc/TestTCX on debian-6.12 passed 10 runs in a row: take it off the known-flaky list (veth carrier race)",
		"PASS: 2 kernels (0 not ok), 6 passed, 0 failed, 2 unsupported, 0 skipped, 1 flaky, 1 known flaky",
	} {
		assert.Contains(t, oneLine(txt), want)
	}
	assert.Less(t, strings.Index(txt, "~~ FLAKY"), strings.Index(txt, "accelerator"), "flaky tests are listed before the summary")
	assert.NotContains(t, txt, "--- FAIL kprobe", "neither is a failure")

	var doc junitDoc
	require.NoError(t, xml.Unmarshal([]byte(render(t, r, FormatJUnit)), &doc))
	cases := map[string]junitCaseDoc{}
	for _, c := range doc.Suites[0].Cases {
		cases[c.Name] = c
	}
	fl := cases["TestKprobe"]
	assert.Nil(t, fl.Failure, "a flaky test passed")
	require.Len(t, fl.Flaky, 1)
	assert.Equal(t, "event 0: got pid 1, want 312", fl.Flaky[0].Message)
	assert.Contains(t, fl.Flaky[0].SystemOut, "--- FAIL: TestKprobe")
	kf := cases["TestKretprobe"]
	assert.Nil(t, kf.Failure)
	require.NotNil(t, kf.Skipped)
	assert.Contains(t, kf.Skipped.Message, "known flaky here: perf buffer wakeups lost under TCG")
	assert.Zero(t, doc.Failures)

	md := render(t, r, FormatMarkdown)
	assert.Contains(t, md, "| `kprobe/TestKprobe` | 🔁 io | ✅ pl |")
	assert.Contains(t, md, "### 🔁 Flaky tests")
	assert.Contains(t, md, "🔂 <code>kprobe/TestKretprobe</code> on <b>debian-5.10</b>: failed 2 times")
	assert.Less(t, strings.Index(md, "Flaky tests"), strings.Index(md, "Unsupported: "))

	html := render(t, r, FormatHTML)
	assert.Contains(t, html, `class="cell flaky"`)
	assert.Contains(t, html, `class="cell knownflaky"`)
	assert.Contains(t, html, "Flaky: 2 cells</h2>")
	assert.Contains(t, html, "output of the first failed run")

	r.FailOnFlaky = true
	assert.False(t, r.OK(), "--fail-on-flaky")
	assert.Contains(t, render(t, r, FormatText), "FAIL: 2 kernels (0 not ok), 6 passed, 0 failed, 2 unsupported, 0 skipped, 1 flaky (--fail-on-flaky), 1 known flaky")
}

// text collapses white space, so that wrapped lines read as one.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// TestJUnitFlakyValidates checks the flaky JUnit against the schema, with
// Maven Surefire's flakyFailure.
func TestJUnitFlakyValidates(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("xmllint missing: apt-get install libxml2-utils")
	}
	path := filepath.Join(t.TempDir(), "flaky.xml")
	require.NoError(t, os.WriteFile(path, []byte(render(t, fixture.Flaky(t), FormatJUnit)), 0o644))
	out, err := exec.Command(xmllint, "--noout", "--schema", filepath.Join(fixture.Dir, "junit.xsd"), path).CombinedOutput()
	assert.NoError(t, err, "%s", out)
}

func TestDiffFlaky(t *testing.T) {
	old := fixture.Load(t, fixture.Results)
	cur := fixture.Flaky(t)
	changes := Diff(old, cur)
	require.NotEmpty(t, changes)
	assert.Equal(t, Flaky, changes[0].Kind, "pass -> flaky comes right after regressions")
	assert.Equal(t, "kprobe/TestKprobe", changes[0].Row)
	assert.Equal(t, []string{"pass -> flaky"}, changes[0].Why)
	assert.Equal(t, Flaky, changes[1].Kind)
	assert.False(t, HasRegression(changes), "flaky is not a regression")
	var b strings.Builder
	require.NoError(t, WriteDiff(&b, changes))
	assert.Contains(t, b.String(), "newly flaky (2):\n  kprobe/TestKprobe on debian-5.10/amd64: pass (perf_event ioctl) -> flaky (perf_event ioctl) [pass -> flaky]")
	assert.Contains(t, b.String(), "0 regressions, 2 newly flaky, 0 improvements")

	back := Diff(cur, old)
	require.Len(t, back, 2)
	assert.Equal(t, Improvement, back[0].Kind, "flaky -> pass")

	worse := fixture.Flaky(t)
	worse.Kernels[0].Test("kprobe/TestKprobe").Result = results.Fail
	changes = Diff(cur, worse)
	require.Len(t, changes, 1)
	assert.Equal(t, Regression, changes[0].Kind, "flaky -> fail")
}
