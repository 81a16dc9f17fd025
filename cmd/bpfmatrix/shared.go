package main

import (
	"fmt"
	"io"
	"regexp"

	"github.com/bpfmatrix/bpfmatrix/harness/host"
	"github.com/bpfmatrix/bpfmatrix/harness/report/live"
	"github.com/bpfmatrix/bpfmatrix/harness/report/text"
	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
)

// guestEnv is the environment a guest program gets (exec, test): the
// host's, less the variables --env-exclude and host.EnvExclude drop, with
// --env's settings.
func guestEnv(envAdd, envExclude listFlag) ([]string, error) {
	var excl []*regexp.Regexp
	for _, e := range envExclude {
		re, err := regexp.Compile(e)
		if err != nil {
			return nil, fmt.Errorf("%w: --env-exclude %q: %v", errUsage, e, err)
		}
		excl = append(excl, re)
	}
	env, err := host.ExecEnv(host.Environ(), excl, envAdd)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	return env, nil
}

// newDisplay is the progress display of a matrix command (run, test) on
// stderr, one line per column; a plain log when stderr is no terminal or
// the consoles are streamed (verbose).
func newDisplay(stderr io.Writer, specs []catalog.Spec, verbose bool) *live.Live {
	var names []string
	for _, s := range specs {
		names = append(names, s.Name)
	}
	return live.New(stderr, live.Options{
		TTY: text.IsTerminal(stderr) && !verbose, Color: text.ColorEnabled(stderr),
		Width: text.TerminalWidth(stderr), Columns: names,
	})
}
