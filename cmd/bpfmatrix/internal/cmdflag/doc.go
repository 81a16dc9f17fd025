// Package cmdflag binds the flags that bpfmatrix's commands share, in one
// place, and validates them once: where kernels come from (Store: --cache,
// --mirror, --lock), how each VM runs (VM: --accel, --memory, --cpus,
// --timeout, --boot-timeout, --source, --include, which Setup turns into
// the runner's setup), which kernels (SelectKernels, ShardKernels), the
// report files and rows of a command that prints a matrix (Outputs), the
// guest's environment (GuestEnv: --env, --env-exclude) and the project's
// bpfmatrix.yaml as the defaults of --kernels, --profiles, --modules,
// --include and --env (LoadProject). Every error in what the user typed
// wraps ErrUsage.
package cmdflag

import "errors"

// ErrUsage marks an error in what the user typed: the command exits 2.
var ErrUsage = errors.New("usage")
