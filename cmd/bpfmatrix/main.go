// Command bpfmatrix boots Linux kernels in QEMU, runs eBPF test suites
// inside each and prints a matrix of the results.
//
//	bpfmatrix run [flags]          run the suites on the kernel matrix
//	bpfmatrix kernels list         the kernel catalog and what is cached
//	bpfmatrix kernels pull [NAME]  download kernels into the cache
//	bpfmatrix kernels update [NAME] re-resolve the newest package and re-pin it
//
// Run `bpfmatrix help` or `bpfmatrix run -h` for details.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/bpfmatrix/bpfmatrix/cmd/bpfmatrix/internal/cmdflag"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailed      = 1 // tests failed or a VM did not finish
	exitUsage       = 2 // bad flags or arguments
	exitInterrupted = 130
)

// errUsage marks an error in what the user typed (the shared flags'
// cmdflag.ErrUsage).
var errUsage = cmdflag.ErrUsage

// errFailed marks a run whose results are not all good.
var errFailed = errors.New("run failed")

// errInterrupted marks a run stopped by a signal.
var errInterrupted = errors.New("interrupted")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout, os.Stderr, os.Args[1:]...)
	stop()
	os.Exit(exitCode(os.Stderr, err))
}

func exitCode(stderr io.Writer, err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errInterrupted):
		fmt.Fprintln(stderr, "bpfmatrix: interrupted")
		return exitInterrupted
	case errors.Is(err, errFailed):
		return exitFailed
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, "bpfmatrix:", err)
		return exitUsage
	}
	fmt.Fprintln(stderr, "bpfmatrix:", err)
	return exitFailed
}

const usage = `bpfmatrix boots Linux kernels in QEMU and runs eBPF test suites in each.

Usage:
  bpfmatrix run [flags]             run the suites on the kernel matrix and print it
  bpfmatrix kernels list [flags]    list the kernel catalog, pinned releases and the cache
  bpfmatrix kernels pull [NAME...]  download and verify kernels (default: the default matrix)
  bpfmatrix kernels update [NAME...] resolve the newest package again and re-pin it in the lock file
  bpfmatrix report [flags] FILE     render a results file: text, json, junit, markdown, html
  bpfmatrix report merge -o OUT A.json B.json...  merge shard results into one
  bpfmatrix report diff OLD.json NEW.json         changed cells, regressions first (exit 1 on one)
  bpfmatrix bench [flags]           time every phase against the boot floor (make bench)
  bpfmatrix test [flags] [PKGS] [-- GO TEST FLAGS]  your module's tests in one VM per kernel, as a matrix
  bpfmatrix exec [flags] PROGRAM... run a static binary (or, as go test -exec, your tests) in each kernel
  bpfmatrix shell --kernel NAME     an interactive shell in a VM of that kernel (Ctrl-] quits)
  bpfmatrix reproduce FILE KERNEL TEST [--shell]  run one cell of a results file again, verbose
  bpfmatrix help                    this text

Run "bpfmatrix run -h" for the flags of run.

Environment:
  BPFMATRIX_DEBIAN_MIRROR  Debian mirror URL (default: from the apt configuration)
  BPFMATRIX_CACHE          cache directory (default: $XDG_CACHE_HOME/bpfmatrix)
`

func run(ctx context.Context, stdout, stderr io.Writer, args ...string) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: no command given", errUsage)
	}
	switch args[0] {
	case "run":
		return runCmd(ctx, stdout, stderr, args[1:])
	case "kernels":
		return kernelsCmd(ctx, stdout, stderr, args[1:])
	case "bench":
		return benchCmd(ctx, stdout, stderr, args[1:])
	case "report":
		return reportCmd(ctx, stdout, stderr, args[1:])
	case "exec":
		return execCmd(ctx, stdout, stderr, args[1:])
	case "test":
		return testCmd(ctx, stdout, stderr, args[1:])
	case "shell":
		return shellCmd(ctx, os.Stdin, stdout, stderr, args[1:])
	case "reproduce":
		return reproduceCmd(ctx, os.Stdin, stdout, stderr, args[1:])
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("%w: unknown command %q (commands: run, test, kernels, report, reproduce, exec, shell, bench, help)", errUsage, args[0])
}
