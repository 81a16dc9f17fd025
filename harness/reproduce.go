package harness

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
	"github.com/bpfmatrix/bpfmatrix/harness/plan"
	"github.com/bpfmatrix/bpfmatrix/harness/runner"
	"github.com/bpfmatrix/bpfmatrix/harness/shell"
	"github.com/bpfmatrix/bpfmatrix/internal/wire"
	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
	"github.com/bpfmatrix/bpfmatrix/vm/initramfs"
)

// ReproduceOptions are the run of cell c alone (bpfmatrix reproduce), on
// top of setup.
func ReproduceOptions(c *plan.Cell, setup runner.Setup) Options {
	return Options{
		Setup: setup, Kernels: []catalog.Spec{c.Spec}, Profiles: []expect.Profile{c.Profile},
		Suites: []plan.Suite{c.Suite}, Run: c.Run, InjectWrong: c.InjectWrong, Parallel: 1,
	}
}

// ReproduceShell is a shell session whose console first runs the test of
// cell c (bpfmatrix reproduce --shell): verbose, in a directory of its own
// under /tmp that stays for the shell after it.
func ReproduceShell(c *plan.Cell, setup runner.Setup) shell.Options {
	return shell.Options{
		Setup: setup, Kernel: c.Spec, Modules: c.Suite.Modules, Append: c.Column.Cmdline,
		Tests: []plan.Suite{c.Suite}, Before: shellCommand(c),
	}
}

// shellCommand is the shell command that runs c's test on the console.
func shellCommand(c *plan.Cell) string {
	run := c.Run
	if c.Suite.Parent != "" {
		run = "^" + regexp.QuoteMeta(c.Suite.Parent) + "$/^" + regexp.QuoteMeta(c.Suite.Name) + "$/" + run
	}
	env := wire.EnvGuest + "=1"
	if len(c.InjectWrong) > 0 {
		env += " " + wire.EnvInject + "=" + strings.Join(c.InjectWrong, ",")
	}
	dir := "/tmp/" + c.Suite.Name
	return fmt.Sprintf("mkdir -p %s && cd %s && %s %s -test.v -test.run '%s'; echo; echo \"bpfmatrix: the test's files are in %s; exit or Ctrl-] quits\"",
		dir, dir, env, initramfs.TestBinary(c.Suite.BinaryName()), run, dir)
}
