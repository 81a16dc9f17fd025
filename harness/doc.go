// Package harness runs the matrix: it plans the columns, fetches the
// kernels while the shared images build, boots one VM per column through
// the runner (package runner) in the order package schedule gives, runs
// failing tests again in fresh VMs (--retries), judges every cell with
// the expectation model and assembles the matrix of results. Test
// (bpfmatrix test) runs the user's own test binaries, built by package
// gotest, through the same plan, schedule, boot and judge; ReproduceOptions
// and ReproduceShell run one cell of a results file again. The commands
// beside it boot their VMs through the same runner: package rawexec
// (exec, go test -exec), shell and bench. It knows nothing about QEMU
// flags (package vm) or where kernels come from (package kernels); what
// runs is package plan, what comes out package results.
package harness
