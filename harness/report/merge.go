package report

import (
	"errors"
	"fmt"
	"sort"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
	"github.com/bpfmatrix/bpfmatrix/harness/report/matrix"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
)

// Input is one results file given to Merge.
type Input struct {
	// Name identifies the input in errors (the file name).
	Name   string
	Result *results.Result
}

// Merge combines the results of the shards of one plan into one Result of
// the same schema:
//
//   - columns: every column of every input, in catalog order (the order of
//     kernels/catalog/catalog.json, which is the order an unsharded run of the
//     default matrix uses), then in the order of expect.Profiles within a
//     kernel; kernels missing from the catalog come last, and ties keep
//     the order of their first appearance across the inputs. A column (ColumnKey) found
//     in two inputs is an error: those are two runs, not two shards.
//   - started: the earliest; seconds: the longest input (shards run in
//     parallel, so the merged run took as long as its slowest shard).
//   - complete: only if every input is complete.
//   - suites: the union, in order of first appearance; accel and run_dir:
//     the first input's (each column keeps its own console log path);
//     errors: all of them, prefixed with their input's name.
func Merge(inputs ...Input) (*results.Result, error) {
	if len(inputs) == 0 {
		return nil, errors.New("merge: no results given: pass the results files of every shard")
	}
	catalogOrder := map[string]int{}
	for i, n := range catalog.Default().Names() {
		catalogOrder[n] = i
	}
	out := &results.Result{Schema: results.Schema, Complete: true}
	seenSuite := map[string]bool{}
	from := map[string]string{}
	for i, in := range inputs {
		r := in.Result
		if r == nil {
			return nil, fmt.Errorf("merge: %s: no results", in.Name)
		}
		if r.Schema != results.Schema {
			return nil, fmt.Errorf("merge: %s: schema %q, want %q: re-run it with this bpfmatrix", in.Name, r.Schema, results.Schema)
		}
		if i == 0 {
			out.Accel, out.RunDir, out.Started = r.Accel, r.RunDir, r.Started
		}
		if !r.Started.IsZero() && (out.Started.IsZero() || r.Started.Before(out.Started)) {
			out.Started = r.Started
		}
		out.Seconds = max(out.Seconds, r.Seconds)
		out.Complete = out.Complete && r.Complete
		for _, s := range r.Suites {
			if !seenSuite[s] {
				seenSuite[s] = true
				out.Suites = append(out.Suites, s)
			}
		}
		for _, e := range r.Unhandled {
			out.Unhandled = append(out.Unhandled, in.Name+": "+e)
		}
		for _, k := range r.Kernels {
			key := matrix.ColumnKey(k)
			if prev, ok := from[key]; ok {
				return nil, fmt.Errorf("merge: column %s is in both %s and %s: merge the shards of one run (run --shard i/n); to compare two runs use report diff", key, prev, in.Name)
			}
			from[key] = in.Name
			out.Kernels = append(out.Kernels, k)
		}
	}
	rank := func(k results.KernelResult) int {
		if i, ok := catalogOrder[k.Kernel.Name]; ok {
			return i
		}
		return len(catalogOrder)
	}
	profileRank := func(k results.KernelResult) int {
		if k.Profile == "" {
			return 0
		}
		for i, p := range expect.Profiles {
			if p.Name == k.Profile {
				return i
			}
		}
		return len(expect.Profiles)
	}
	sort.SliceStable(out.Kernels, func(a, b int) bool {
		ka, kb := out.Kernels[a], out.Kernels[b]
		if ra, rb := rank(ka), rank(kb); ra != rb {
			return ra < rb
		}
		return profileRank(ka) < profileRank(kb)
	})
	return out, nil
}
