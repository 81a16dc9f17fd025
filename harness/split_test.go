package harness

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/harness/plan"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
	"github.com/bpfmatrix/bpfmatrix/harness/schedule"
)

func splitRun(t *testing.T, parallel, columns, vms int, measured map[string]float64) *matrixRun {
	t.Helper()
	p := &plan.Plan{}
	for _, n := range []string{"asm", "btf", "ebpf", "internal", "link"} {
		p.Suites = append(p.Suites, plan.Suite{Name: n})
	}
	p.Columns = make([]plan.Column, columns)
	h := schedule.History{}
	if measured != nil {
		require.NoError(t, h.Record(t.TempDir(), p.SelectionKey(), measured, time.Now()))
	}
	return &matrixRun{opts: &Options{Parallel: parallel, user: &userImages{vmsPerColumn: vms}}, plan: p, hist: h}
}

// TestSplitColumn: bpfmatrix test shares a column's packages out over the
// VM slots the other columns leave, longest first to the least loaded VM.
func TestSplitColumn(t *testing.T) {
	last := map[string]float64{
		suiteKey("debian-6.12", "ebpf"): 17, suiteKey("debian-6.12", "btf"): 14, suiteKey("debian-6.12", "link"): 11,
		suiteKey("debian-6.12", "internal"): 6, suiteKey("debian-6.12", "asm"): 1,
	}
	tests := []struct {
		name                   string
		parallel, columns, vms int
		measured               map[string]float64
		want                   [][]string
	}{
		{"one kernel, two slots", 2, 1, 0, last, [][]string{{"asm", "ebpf", "internal"}, {"btf", "link"}}}, // 24 s and 25 s
		{"four kernels, two slots: one VM each", 2, 4, 0, last, nil},
		{"--vms-per-kernel 1", 2, 1, 1, last, nil},
		{"--vms-per-kernel 3", 2, 4, 3, last, [][]string{{"ebpf"}, {"asm", "btf"}, {"internal", "link"}}},
		{"never measured: by count", 2, 1, 0, nil, [][]string{{"asm", "ebpf", "link"}, {"btf", "internal"}}},
		{"more VMs than packages", 8, 1, 0, last, [][]string{{"ebpf"}, {"btf"}, {"link"}, {"internal"}, {"asm"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := splitRun(t, tt.parallel, tt.columns, tt.vms, tt.measured)
			got := m.splitColumn("debian-6.12")
			if tt.want == nil {
				assert.Nil(t, got)
				return
			}
			for i := range got { // each VM's suites in plan order
				assert.IsNonDecreasing(t, got[i])
			}
			assert.ElementsMatch(t, tt.want, got)
		})
	}
	m := splitRun(t, 2, 1, 0, nil)
	m.opts.user = nil
	assert.Nil(t, m.splitColumn("debian-6.12"), "bpfmatrix run never splits")
}

// TestMergeVMs: the column is every VM's tests, the slowest phases, and
// the first VM that did not end well.
func TestMergeVMs(t *testing.T) {
	kr := &results.KernelResult{Kernel: results.KernelInfo{Name: "debian-6.12"}, Phases: results.Phases{Fetch: 0.5}}
	ok := results.KernelResult{Status: results.StatusOK, Seconds: 20, ConsoleLog: "a/console.log",
		Phases: results.Phases{Boot: 3, Tests: 15}, Tests: []results.TestResult{{Suite: "ebpf", Name: "TestMap", Result: results.Pass}}}
	crashed := results.KernelResult{Status: results.StatusCrashed, Error: "qemu died", Seconds: 9, ConsoleLog: "b/console.log",
		ConsoleTail: []string{"BUG: oops"}, Reproduce: "qemu ...", Phases: results.Phases{Boot: 4, Tests: 5},
		Splats: []results.Splat{{Kind: "BUG"}}, Tests: []results.TestResult{{Suite: "btf", Name: "TestSpec", Result: results.Fail}}}
	empty := results.KernelResult{Status: results.StatusOK, Error: errNoTests, Seconds: 3}

	mergeVMs(kr, []results.KernelResult{ok, empty}, [][]string{{"ebpf"}, {"asm"}})
	assert.Equal(t, results.StatusOK, kr.Status)
	assert.Empty(t, kr.Error, "one VM that ran no tests is no error when another did")
	assert.Len(t, kr.Tests, 1)
	assert.Equal(t, 0.5, kr.Phases.Fetch)
	assert.Equal(t, "debian-6.12", kr.Kernel.Name)

	kr = &results.KernelResult{Kernel: results.KernelInfo{Name: "debian-6.12"}}
	ok.Kernel, crashed.Kernel = kr.Kernel, kr.Kernel
	mergeVMs(kr, []results.KernelResult{ok, crashed}, [][]string{{"ebpf"}, {"btf"}})
	assert.Equal(t, results.StatusCrashed, kr.Status)
	assert.Equal(t, "qemu died", kr.Error)
	assert.Equal(t, "b/console.log", kr.ConsoleLog, "the console of the VM that crashed")
	assert.Equal(t, []string{"BUG: oops"}, kr.ConsoleTail)
	assert.Equal(t, "qemu ...", kr.Reproduce)
	assert.Equal(t, results.Phases{Boot: 4, Tests: 15}, kr.Phases, "the slowest of each phase")
	assert.Len(t, kr.Tests, 2)
	assert.Len(t, kr.Splats, 1)
	require.Len(t, kr.VMs, 2)
	assert.Equal(t, results.VM{Suites: []string{"btf"}, Status: results.StatusCrashed, Seconds: 9, ConsoleLog: "b/console.log"}, kr.VMs[1])

	kr = &results.KernelResult{}
	mergeVMs(kr, []results.KernelResult{empty, empty}, [][]string{{"a"}, {"b"}})
	assert.Equal(t, errNoTests, kr.Error, "no VM ran a test")
}
