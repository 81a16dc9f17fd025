// Command benchtest times `bpfmatrix test -- -short` against `go test
// -short -exec 'bpfmatrix exec'` on one kernel in a Go module (make
// bench-test: a copy of cilium/ebpf), side by side in the same run, and
// checks that both give every test the same pass, fail or skip.
//
//	go run ./internal/cmd/benchtest -bpfmatrix BIN -kernel debian-6.12 -dir MODULE
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

	viaTest, err := fromResults(resPath)
	if err != nil {
		return err
	}
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
	return nil
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

// fromResults is package/Test -> pass|fail|skip of a bpfmatrix results
// file (unsupported counts as skip), with the package as bpfmatrix names it.
func fromResults(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r results.Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
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
	return out, nil
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
