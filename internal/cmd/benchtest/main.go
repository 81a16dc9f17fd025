// Command benchtest times `bpfmatrix test -- -short` against `go test
// -short -exec 'bpfmatrix exec'` on one kernel in a Go module (make
// bench-test: a copy of cilium/ebpf), side by side in the same run, checks
// that both give every test the same pass, fail or skip, and prints where
// bpfmatrix test's time went: the harness's overhead (images, boots,
// power-off, collection) against the tests' own time. With -matrix it
// also times bpfmatrix test on several kernels at once.
//
//	go run ./internal/cmd/benchtest -bpfmatrix BIN -kernel debian-6.12 -dir MODULE \
//		[-matrix debian-5.10,debian-6.1,debian-6.12,debian-7.2]
//
// Both commands start warm: the kernels are pulled and every package is
// compiled once before the clock starts (the copy of the module is new to
// the Go build cache).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

func main() {
	if err := run(os.Stdout, os.Args[1:]...); err != nil {
		fmt.Fprintln(os.Stderr, "benchtest:", err)
		os.Exit(1)
	}
}

func run(stdout io.Writer, args ...string) error {
	fs := flag.NewFlagSet("benchtest", flag.ContinueOnError)
	bin := fs.String("bpfmatrix", "bpfmatrix", "the bpfmatrix `BINARY`")
	kernel := fs.String("kernel", "debian-6.12", "the kernel `NAME`")
	dir := fs.String("dir", ".", "the Go module `DIR` to test")
	matrix := fs.String("matrix", "", "also time bpfmatrix test on these comma-separated kernel `NAMES`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	abs, err := filepath.Abs(*bin)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "benchtest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	// Warm up, untimed: the kernels in the cache and pinned in the
	// module's lock file, every package compiled.
	kernels := *kernel
	if *matrix != "" {
		kernels += "," + *matrix
	}
	pull := exec.Command(abs, append([]string{"kernels", "pull"}, strings.Split(kernels, ",")...)...)
	if _, _, err := timed(*dir, pull); err != nil {
		return err
	}
	warm := exec.Command("go", "test", "-short", "-count", "1", "-run", "^$", "-exec", "/bin/true", "./...")
	warm.Env = append(os.Environ(), "CGO_ENABLED=0")
	if _, _, err := timed(*dir, warm); err != nil {
		return err
	}

	resPath := filepath.Join(tmp, "results.json")
	testCmd := exec.Command(abs, "test", "--kernels", *kernel, "--quiet", "--json", resPath, "--", "-short")
	testSecs, _, err := timed(*dir, testCmd)
	if err != nil {
		return err
	}
	execCmd := exec.Command("go", "test", "-short", "-count", "1", "-json", "-exec", abs+" exec --kernels "+*kernel, "./...")
	execCmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	execSecs, execOut, err := timed(*dir, execCmd)
	if err != nil {
		return err
	}

	res, err := readResults(resPath)
	if err != nil {
		return err
	}
	viaTest := fromResults(res)
	viaExec := fromGoTestJSON(execOut)
	var differ []string
	for id, a := range viaExec {
		if b, ok := viaTest[id]; ok && a != b {
			differ = append(differ, fmt.Sprintf("%s: go test -exec %s, bpfmatrix test %s", id, a, b))
		}
	}
	sort.Strings(differ)
	fmt.Fprintf(stdout, "%-44s %8s\n", "command ("+*kernel+")", "wall s")
	fmt.Fprintf(stdout, "%-44s %8.1f\n", "go test -short -exec 'bpfmatrix exec'", execSecs)
	fmt.Fprintf(stdout, "%-44s %8.1f  (%.2fx)\n", "bpfmatrix test -- -short", testSecs, testSecs/execSecs)
	fmt.Fprintf(stdout, "tests: %d via go test -exec, %d via bpfmatrix test, %d differ\n", len(viaExec), len(viaTest), len(differ))
	for _, d := range differ {
		fmt.Fprintln(stdout, "  "+d)
	}
	printOverhead(stdout, res, testSecs)

	if *matrix == "" {
		return nil
	}
	mPath := filepath.Join(tmp, "matrix.json")
	mCmd := exec.Command(abs, "test", "--kernels", *matrix, "--quiet", "--json", mPath, "--", "-short")
	mSecs, _, err := timed(*dir, mCmd)
	if err != nil {
		return err
	}
	mRes, err := readResults(mPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%-44s %8.1f\n", "bpfmatrix test -- -short on "+strconv.Itoa(len(mRes.Kernels))+" kernels", mSecs)
	for _, k := range mRes.Kernels {
		fmt.Fprintf(stdout, "  %-42s %8.1f  (boot %.1f, tests %.1f)\n", k.Column(), k.Seconds, k.Phases.Boot, k.Phases.Tests)
	}
	printOverhead(stdout, mRes, mSecs)
	return nil
}

// printOverhead splits a one-kernel bpfmatrix test run's wall time into
// the tests' own work (building the binaries; running them, the VM's
// hello to done) and what the harness added around it (listing the
// packages, the disk images and initramfs, the boot, the power-off,
// collecting and writing the results).
func printOverhead(w io.Writer, r *results.Result, wall float64) {
	if len(r.Kernels) != 1 {
		return
	}
	k := r.Kernels[0]
	var build, images float64
	if r.Prepare != nil {
		build, images = r.Prepare.Build, r.Prepare.Images
	}
	over := wall - build - k.Phases.Tests
	fmt.Fprintf(w, "  build %.1f s, disk images %.1f s, initramfs %.1f s, boot %.1f s, tests %.1f s, power-off %.1f s\n",
		build, images, k.Phases.Image, k.Phases.Boot, k.Phases.Tests, k.Phases.PowerOff)
	fmt.Fprintf(w, "  harness overhead: %.1f s of %.1f s = %.0f%% (wall - build - tests; target <= 15%%)\n", over, wall, 100*over/wall)
}

// timed runs cmd in dir and returns its wall seconds and stdout; a non-zero
// exit is no error (tests may fail on the kernel).
func timed(dir string, cmd *exec.Cmd) (float64, []byte, error) {
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	t0 := time.Now()
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return 0, nil, err
	}
	return time.Since(t0).Seconds(), out.Bytes(), nil
}

// readResults reads a bpfmatrix results file.
func readResults(path string) (*results.Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r results.Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// fromResults is package/Test -> pass|fail|skip of a bpfmatrix results
// file (unsupported counts as skip), with the package as bpfmatrix names it.
func fromResults(r *results.Result) map[string]string {
	out := map[string]string{}
	for _, k := range r.Kernels {
		for _, t := range k.Tests {
			res := string(t.Result)
			if t.Result == results.Unsupported {
				res = "skip"
			}
			out[t.Package+"/"+t.Name] = res
		}
	}
	return out
}

// fromGoTestJSON is import path/Test -> pass|fail|skip of go test -json.
func fromGoTestJSON(b []byte) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var ev struct{ Action, Package, Test string }
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Test == "" {
			continue
		}
		if ev.Action == "pass" || ev.Action == "fail" || ev.Action == "skip" {
			out[strings.TrimSpace(ev.Package)+"/"+ev.Test] = ev.Action
		}
	}
	return out
}
