package harness

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/plan"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
	"github.com/bpfmatrix/bpfmatrix/harness/runner"
	"github.com/bpfmatrix/bpfmatrix/internal/wire"
	"github.com/bpfmatrix/bpfmatrix/kernels"
)

// EnvAttempt is set in the environment of a test that runs again
// (--retries) to its attempt number: 2 for the first retry. A test that
// must tell a retry from its first run (the fault suite's flaky fault) can.
const EnvAttempt = "BPFMATRIX_ATTEMPT"

// retryColumn runs the failing tests of a column whose VM ended well again,
// up to Options.Retries times, each time in a fresh VM (a fresh boot and a
// fresh test process) that runs only those tests. A test that passes on a
// retry is flaky; one that fails every time stays a failure, with its
// earlier runs in Attempts. A retry VM that does not end well stops the
// retries: what it did not run stays as it was.
func (m *matrixRun) retryColumn(ctx context.Context, c plan.Column, k *kernels.Kernel, images map[string]*archImages, kr *results.KernelResult) {
	if m.opts.Retries <= 0 || kr.Status != results.StatusOK {
		return
	}
	arch, err := runner.ArchOf(c.Spec)
	if err != nil {
		return
	}
	t0 := time.Now()
	defer func() {
		kr.Seconds += time.Since(t0).Seconds()
		m.Progress(results.Progress{Column: kr.Column(), Phase: results.PhaseDone, Status: kr.Status, Elapsed: time.Since(t0), Message: kr.Error})
	}()
	var console io.Writer
	if m.opts.Console != nil {
		console = &prefixWriter{w: m.opts.Console, prefix: kr.Column() + "| "}
	}
	for attempt := 2; attempt <= 1+m.opts.Retries && ctx.Err() == nil; attempt++ {
		failing := failingTests(kr.Tests)
		if len(failing) == 0 {
			return
		}
		cfg := m.retryConfig(failing, attempt)
		cfg.Env = append(cfg.Env, wire.EnvKernel+"="+c.Spec.Name)
		parts, disks := m.files(arch, images, cfg)
		m.Logf("%s: running %d failing test(s) again, attempt %d of %d, in a fresh VM", kr.Column(), len(failing), attempt, 1+m.opts.Retries)
		b := m.Boot(ctx, runner.Request{
			Column: kr.Column(), Dir: filepath.Join(m.RunDir, kr.Column(), fmt.Sprintf("attempt-%d", attempt)), Kernel: k, Arch: arch,
			Config: cfg, Parts: parts, Disks: disks, Append: kr.Cmdline, Console: console,
		})
		if b.Err != nil || b.Status != results.StatusOK {
			m.Logf("%s: attempt %d: %s %s: no more retries", kr.Column(), attempt, b.Status, b.Error)
			return
		}
		mergeAttempt(kr.Tests, b.Events.Tests(b.Status))
	}
}

// failingTests are the failing tests that can run again, by suite: their
// top-level test names (a failing subtest runs again with its parent).
func failingTests(tests []results.TestResult) map[string][]string {
	out := map[string][]string{}
	for _, t := range tests {
		if t.Result != results.Fail || t.Name == plan.SuiteRow {
			continue
		}
		top, _, _ := strings.Cut(t.Name, "/")
		if !slices.Contains(out[t.Suite], top) {
			out[t.Suite] = append(out[t.Suite], top)
		}
	}
	return out
}

// retryConfig is the guest's request for one retry: the column's, with
// only the suites that have failing tests, each selecting just those
// tests (and the plan's selection below them), and EnvAttempt set.
func (m *matrixRun) retryConfig(failing map[string][]string, attempt int) *wire.Config {
	cfg := m.guestConfig()
	cfg.Env = append(cfg.Env, fmt.Sprintf("%s=%d", EnvAttempt, attempt))
	_, below, _ := strings.Cut(m.plan.Run, "/")
	var suites []wire.Suite
	for _, s := range cfg.Suites {
		names := failing[s.Name]
		if len(names) == 0 {
			continue
		}
		s.Run = retryPattern(names, below)
		suites = append(suites, s)
	}
	cfg.Suites = suites
	return cfg
}

// retryPattern is the -test.run selection of tests names, with below (the
// plan's selection of their subtests, may be empty).
func retryPattern(names []string, below string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = regexp.QuoteMeta(n)
	}
	p := "^(" + strings.Join(quoted, "|") + ")$"
	if below != "" {
		p += "/" + below
	}
	return p
}

// mergeAttempt merges one retry's results into tests: a failing test that
// passed is now flaky, one that failed again is the new failure; either
// way, the earlier runs go to Attempts. A test the retry did not run, or
// that it skipped or found unsupported, keeps its failure (a test that
// fails and then says unsupported is not to be trusted with either).
func mergeAttempt(tests []results.TestResult, retry []results.TestResult) {
	byID := map[string]*results.TestResult{}
	for i := range retry {
		byID[retry[i].ID()] = &retry[i]
	}
	for i := range tests {
		t := &tests[i]
		rt := byID[t.ID()]
		if t.Result != results.Fail || rt == nil || (rt.Result != results.Pass && rt.Result != results.Fail) {
			continue
		}
		next := *rt
		next.Attempts = append(t.Attempts, results.Attempt{Result: t.Result, Reason: t.Reason, Seconds: t.Seconds, Output: t.Output})
		if next.Result == results.Pass {
			next.Result = results.Flaky
		}
		*t = next
	}
}
