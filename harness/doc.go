// Package harness executes plans: it fetches the kernels, builds the
// images, boots one VM per column through one runner and assembles the
// matrix of results. Every command (run, exec, shell, bench) boots its VMs
// through the same path: a kernel, a guest request (internal/wire) and the
// image parts in, a finished VM out, its result channel read by package
// collect. It knows nothing about QEMU flags (package vm) or where kernels
// come from (package kernels); what runs is package plan, what comes out
// package results.
package harness
