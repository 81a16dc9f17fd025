package matrix

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

func TestWhere(t *testing.T) {
	col := func(name, arch, release, fprobe string, profile string) results.KernelResult {
		return results.KernelResult{
			Kernel:  results.KernelInfo{Name: name, Arch: arch, Release: release},
			Profile: profile, Status: results.StatusOK,
			Config: map[string]string{"CONFIG_FPROBE": fprobe, "CONFIG_BPF_LSM": "y"},
		}
	}
	cols := []results.KernelResult{
		col("debian-5.10", "amd64", "5.10.0-32-cloud-amd64", "n", ""),
		col("debian-6.1", "amd64", "6.1.0-50-cloud-amd64", "n", ""),
		col("debian-6.12", "amd64", "6.12.117+deb13-cloud-amd64", "y", ""),
		col("debian-6.12-arm64", "arm64", "6.12.117+deb13-cloud-arm64", "y", ""),
		col("debian-5.10", "amd64", "5.10.0-32-cloud-amd64", "n", "lsm-bpf"),
	}
	tests := []struct {
		name    string
		outcome []results.Outcome // per column
		text    string
	}{
		{"version and config", []results.Outcome{results.Fail, results.Fail, results.Pass, results.Flaky, results.Fail},
			"fails on amd64 5.10, 6.1, 5.10+lsm-bpf; passes on amd64 6.12; arm64 6.12; differs in: passes from 6.12, CONFIG_FPROBE (n where it fails, y where it passes)"},
		{"arch", []results.Outcome{results.Pass, results.Pass, results.Pass, results.Fail, results.Pass},
			"fails on arm64 6.12; passes on amd64 5.10, 6.1, 6.12, 5.10+lsm-bpf; differs in: arch (arm64 where it fails, amd64 where it passes)"},
		{"profile", []results.Outcome{results.Pass, results.Pass, results.Pass, results.Pass, results.Fail},
			"fails on amd64 5.10+lsm-bpf; passes on amd64 5.10, 6.1, 6.12; arm64 6.12; differs in: boot profile (lsm-bpf where it fails, default where it passes)"},
		{"nothing known", []results.Outcome{results.Pass, results.Fail, results.Pass, results.Unsupported, results.Skip},
			"fails on amd64 6.1; unsupported on arm64 6.12; passes on amd64 5.10, 6.12; nothing the expectation model knows separates them"},
		{"everywhere", []results.Outcome{results.Fail, results.Fail, results.Fail, results.Fail, results.KnownFlaky},
			"fails on every kernel; passes nowhere"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &results.Result{Complete: true}
			for j, c := range cols {
				c.Tests = []results.TestResult{{Suite: "s", Name: "TestX", Result: tt.outcome[j]}}
				r.Kernels = append(r.Kernels, c)
			}
			m := Build(r)
			where := m.Where()
			require.Len(t, where, 1)
			assert.Equal(t, tt.text, where[0].Text(m, NewLayout(m)))
		})
	}
	ok := Build(&results.Result{Kernels: []results.KernelResult{{Tests: []results.TestResult{{Suite: "s", Name: "T", Result: results.Pass}}}}})
	assert.Empty(t, ok.Where(), "no failure, no answer")
}
