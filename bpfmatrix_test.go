package bpfmatrix_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/bpfmatrix/bpfmatrix"
	"github.com/bpfmatrix/bpfmatrix/harness/report/text"
)

// Example runs the kprobe suite on two kernels and prints the matrix. It
// boots VMs (QEMU must be installed), so it has no Output line and only
// compiles under go test.
func Example() {
	res, err := bpfmatrix.Run(context.Background(), bpfmatrix.Plan{
		Kernels: []string{"debian-5.10", "debian-6.1"},
		Suites:  "kprobe",
	})
	if err != nil {
		log.Fatal(err)
	}
	text.Write(os.Stdout, res, text.Options{})
	fmt.Println("all passed:", res.OK())
}

// ExampleExec runs a static binary of yours on two kernels.
func ExampleExec() {
	res, err := bpfmatrix.Exec(context.Background(), []string{"debian-5.10", "debian-6.1"},
		"./mytool", []string{"--self-test"}, []string{"MYTOOL_DEBUG=1"})
	if err != nil {
		log.Fatal(err)
	}
	for _, k := range res.Kernels {
		fmt.Printf("%s (%s): %s, exit %d\n", k.Kernel, k.Release, k.Status, k.ExitCode)
		k.WriteOutput(os.Stdout, os.Stderr)
	}
}
