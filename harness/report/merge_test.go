package report

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/harness/plan"
	"github.com/bpfmatrix/bpfmatrix/harness/report/internal/fixture"
	"github.com/bpfmatrix/bpfmatrix/harness/report/matrix"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

// column builds one column with the given cells ("suite/Test" -> outcome).
func column(name, profile string, cells map[string]results.Outcome) results.KernelResult {
	k := results.KernelResult{Kernel: results.KernelInfo{Name: name, Arch: "amd64"}, Profile: profile, Status: results.StatusOK, Seconds: 10}
	for _, id := range []string{"kprobe/TestKprobe", "tc/TestTCX", "lsm/TestLSMFileOpen"} {
		if o, ok := cells[id]; ok {
			suite, test, _ := strings.Cut(id, "/")
			k.Tests = append(k.Tests, results.TestResult{Suite: suite, Name: test, Result: o})
		}
	}
	return k
}

// unsharded is an unsharded run of the default matrix, in catalog order.
func unsharded() *results.Result {
	all := map[string]results.Outcome{"kprobe/TestKprobe": results.Pass, "tc/TestTCX": results.Pass, "lsm/TestLSMFileOpen": results.Pass}
	old := map[string]results.Outcome{"kprobe/TestKprobe": results.Pass, "tc/TestTCX": results.Unsupported, "lsm/TestLSMFileOpen": results.Unsupported}
	return &results.Result{
		Schema: results.Schema, Started: time.Date(2026, 11, 24, 18, 0, 0, 0, time.UTC), Seconds: 100,
		Suites: []string{"kprobe", "tc", "lsm"}, Complete: true,
		Kernels: []results.KernelResult{
			column("debian-5.10", "default", old),
			column("debian-5.10", "lsm-bpf", map[string]results.Outcome{"kprobe/TestKprobe": results.Pass, "tc/TestTCX": results.Unsupported, "lsm/TestLSMFileOpen": results.Pass}),
			column("debian-6.1", "default", old),
			column("debian-6.12", "default", all),
			column("debian-7.2", "default", all),
		},
	}
}

// cells maps column key -> row -> outcome.
func cells(r *results.Result) map[string]map[string]results.Outcome {
	out := map[string]map[string]results.Outcome{}
	for _, k := range r.Kernels {
		out[matrix.ColumnKey(k)] = map[string]results.Outcome{}
		for _, t := range k.Tests {
			out[matrix.ColumnKey(k)][t.ID()] = t.Result
		}
	}
	return out
}

func keys(r *results.Result) []string {
	var out []string
	for _, k := range r.Kernels {
		out = append(out, matrix.ColumnKey(k))
	}
	return out
}

func TestMergeShardsEqualsUnsharded(t *testing.T) {
	full := unsharded()
	for n := 1; n <= 4; n++ {
		var inputs []Input
		for i := n; i >= 1; i-- { // reverse order: merge must not depend on it
			sh := plan.Shard{Index: i, N: n}
			part := *full
			part.Kernels = plan.SelectShard(sh, full.Kernels)
			part.Seconds = float64(10 * i)
			part.Started = full.Started.Add(time.Duration(i) * time.Second)
			inputs = append(inputs, Input{Name: sh.String(), Result: &part})
		}
		merged, err := Merge(inputs...)
		require.NoError(t, err)
		assert.Equal(t, cells(full), cells(merged), "n=%d", n)
		assert.Equal(t, keys(full), keys(merged), "n=%d: catalog order", n)
		assert.Equal(t, float64(10*n), merged.Seconds, "seconds of the slowest shard")
		assert.Equal(t, full.Started.Add(time.Second), merged.Started, "the earliest start")
		assert.True(t, merged.Complete)
		assert.Equal(t, full.Suites, merged.Suites)
		table := func(r *results.Result) string {
			md := render(t, r, FormatMarkdown)
			return md[strings.Index(md, "| test |"):]
		}
		assert.Equal(t, table(full), table(merged), "n=%d: the same table", n)
	}
}

func TestMergeErrors(t *testing.T) {
	full := unsharded()
	half := *full
	half.Complete = false
	merged, err := Merge(Input{"a.json", full}, Input{"b.json", &results.Result{Schema: results.Schema, Complete: true}})
	require.NoError(t, err)
	assert.Len(t, merged.Kernels, 5)
	merged, err = Merge(Input{"a.json", &results.Result{Schema: results.Schema, Complete: true}}, Input{"b.json", &half})
	require.NoError(t, err)
	assert.False(t, merged.Complete, "complete only if every input is")

	_, err = Merge(Input{"a.json", full}, Input{"b.json", full})
	require.ErrorContains(t, err, "column debian-5.10/amd64 is in both a.json and b.json")
	_, err = Merge(Input{"a.json", &results.Result{Schema: "bpfmatrix/v0"}})
	require.ErrorContains(t, err, `a.json: schema "bpfmatrix/v0"`)
	_, err = Merge()
	require.ErrorContains(t, err, "no results given")
}

func TestDiff(t *testing.T) {
	tr := func(o results.Outcome, mech string, met *bool) results.TestResult {
		t := results.TestResult{Suite: "s", Name: "T", Result: o, Mechanism: mech}
		if met != nil {
			t.Expect = &results.Expectation{Outcome: results.Pass, Met: *met, Rule: "needs 6.6"}
		}
		return t
	}
	yes, no := true, false
	tests := []struct {
		name     string
		old, new results.TestResult
		kind     ChangeKind
		why      string
	}{
		{"pass to fail", tr(results.Pass, "", nil), tr(results.Fail, "", nil), Regression, "pass -> fail"},
		{"pass to unsupported", tr(results.Pass, "", nil), tr(results.Unsupported, "", nil), Regression, "pass -> unsupported"},
		{"native to fallback", tr(results.Pass, "fentry", nil), tr(results.Pass, "kprobe (fallback: fentry: no BTF)", nil), Regression, "native -> fallback (fentry: no BTF)"},
		{"expected to unexpected", tr(results.Pass, "", &yes), tr(results.Pass, "", &no), Regression, "expected -> unexpected (needs 6.6)"},
		{"fail to pass", tr(results.Fail, "", nil), tr(results.Pass, "", nil), Improvement, "fail -> pass"},
		{"unsupported to pass", tr(results.Unsupported, "", nil), tr(results.Pass, "", nil), Improvement, "unsupported -> pass"},
		{"fallback to native", tr(results.Pass, "kprobe (fallback: fentry: x)", nil), tr(results.Pass, "fentry", nil), Improvement, "fallback -> native"},
		{"mechanism", tr(results.Pass, "perf_event ioctl", nil), tr(results.Pass, "bpf_link (perf_event)", nil), Other, "mechanism perf_event ioctl -> bpf_link (perf_event)"},
		{"pass to skip", tr(results.Pass, "", nil), tr(results.Skip, "", nil), Other, "pass -> skip"},
	}
	res := func(tt results.TestResult) *results.Result {
		return &results.Result{Schema: results.Schema, Complete: true, Kernels: []results.KernelResult{
			{Kernel: results.KernelInfo{Name: "debian-6.1"}, Status: results.StatusOK, Tests: []results.TestResult{tt}}}}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := Diff(res(tt.old), res(tt.new))
			require.Len(t, ch, 1)
			assert.Equal(t, tt.kind, ch[0].Kind)
			assert.Contains(t, ch[0].Why, tt.why)
			assert.Equal(t, tt.kind == Regression, HasRegression(ch))
		})
	}
	assert.Empty(t, Diff(res(tr(results.Pass, "x", nil)), res(tr(results.Pass, "x", nil))))
}

func TestDiffOrder(t *testing.T) {
	old, cur := fixture.Load(t, fixture.Results), fixture.Load(t, fixture.Expect)
	ch := Diff(old, cur)
	require.NotEmpty(t, ch)
	for i := 1; i < len(ch); i++ {
		assert.LessOrEqual(t, ch[i-1].Kind, ch[i].Kind, "regressions, then improvements, then other")
	}
	assert.True(t, HasRegression(ch))
	var b []string
	for _, c := range ch {
		b = append(b, c.Kind.String()+" "+c.Row+" "+c.Column)
	}
	assert.Contains(t, b, "regression kprobe/TestKretprobe debian-5.10/amd64")
	assert.Contains(t, b, "regression kprobe/TestKprobe debian-6.12/amd64")
	assert.Contains(t, b, "other kprobe/TestKprobe debian-7.2/amd64", "a new column's cells are new")
	assert.Empty(t, Diff(cur, cur))
}
