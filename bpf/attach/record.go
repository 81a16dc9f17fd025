package attach

import "github.com/bpfmatrix/bpfmatrix/record"

// Recording makes a chain report its Result to bpfmatrix through package
// record, so that the matrix shows which mechanism won on each kernel and
// why the earlier ones failed, without a line of the test's own:
//
//	attach.Entry(spec, "do_sys_openat2", "fentry", "kprobe", &attach.Options{
//		Recording: attach.Recording{T: t, Hook: "entry"},
//	})
//
// A no-op outside bpfmatrix, and when T is nil.
type Recording struct {
	// T is the test to record for.
	T record.T
	// Hook names the hook in the record, e.g. "entry".
	Hook string
}

// record records r as the mechanism of the hook.
func (rec Recording) record(r Result) {
	if rec.T == nil {
		return
	}
	rec.T.Helper()
	_ = record.Mechanism(rec.T, rec.Hook, r) // a record that cannot be written must not fail the attach
}
