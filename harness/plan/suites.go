package plan

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/bpfmatrix/bpfmatrix/tests/facts"
)

// Suite is one in-guest suite of tests.
type Suite struct {
	// Name is the short name, used by --suite and in every result.
	Name string
	// Package is the package path, relative to the bpfmatrix module, whose
	// test binary (go test -c) holds the suite.
	Package string
	// Parent, if set, is the top-level test of Package's binary that runs
	// the suite as its subtest Name. The built-in suites share one binary
	// this way, so that a VM starts one test process and decodes kernel
	// BTF once; the guest restarts the binary for the suites after one
	// that crashed it. Empty: the binary's tests are the suite.
	Parent string
	// Source is the package that defines the suite's tests, reported with
	// its results; empty means Package.
	Source string
	// Modules are the kernel modules the suite needs loaded.
	Modules []string
	// Timeout bounds the suite's tests in the guest.
	Timeout time.Duration

	// The fields below describe a suite of the user's own (bpfmatrix
	// test): one package of the user's module, whose test binary was built
	// on the host.

	// Path, if set, is the full import path of the suite's package,
	// instead of one in the bpfmatrix module.
	Path string
	// Binary, if set, is the guest path of the suite's test binary,
	// instead of its place in the built-in image.
	Binary string
	// Dir, if set, is the binary's working directory in the guest: its
	// package directory.
	Dir string
	// CoverProfile asks the binary for a coverage profile, which the
	// guest sends back.
	CoverProfile bool
}

// ImportPath is the full Go import path of the package that defines the
// suite's tests.
func (s Suite) ImportPath() string {
	if s.Path != "" {
		return s.Path
	}
	src := s.Source
	if src == "" {
		src = s.Package
	}
	return "github.com/bpfmatrix/bpfmatrix/" + strings.TrimPrefix(src, "./")
}

// BinaryName names the test binary of Package in the guest: its path with
// slashes as dashes ("./tests/faults" is "tests-faults").
func (s Suite) BinaryName() string {
	return strings.ReplaceAll(strings.Trim(strings.TrimPrefix(s.Package, "./"), "/"), "/", "-")
}

// Builtin are the suites shipped with bpfmatrix, in the order they run
// (facts.All, which tests.All follows), each a subtest of the one test
// binary of package tests, with the modules and timeout of its facts.
var Builtin = builtin()

// DefaultModel holds the expectations for the built-in suites: the rules
// of each suite's facts (facts.Model).
var DefaultModel = facts.Model()

// suitesParent is the test of package tests whose subtests are the built-in
// suites (tests/suite.Parent; a test checks they agree, so that the host
// does not link the suites' package).
const suitesParent = "TestSuites"

func builtin() []Suite {
	var out []Suite
	for _, s := range facts.All {
		out = append(out, Suite{
			Name: s.Name, Package: "./tests", Parent: suitesParent, Source: "./tests/" + s.Name,
			Modules: s.Modules, Timeout: s.Timeout,
		})
	}
	return out
}

// SelectSuites returns the built-in suites whose name matches expr (all of
// them for ""), or an error naming the valid names.
func SelectSuites(expr string) ([]Suite, error) {
	if expr == "" {
		return append([]Suite(nil), Builtin...), nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("--suite %q is not a valid regular expression: %w", expr, err)
	}
	var out, names []string
	var sel []Suite
	for _, s := range Builtin {
		names = append(names, s.Name)
		if re.MatchString(s.Name) {
			sel = append(sel, s)
			out = append(out, s.Name)
		}
	}
	if len(sel) == 0 {
		return nil, fmt.Errorf("--suite %q matches no suite (suites: %s)", expr, strings.Join(names, ", "))
	}
	return sel, nil
}

// CheckRun checks a test selection as go test -run reads it: one regular
// expression per level of subtests, split on the slashes outside brackets
// and parentheses. The guest prefixes it with the suite levels, so a bad
// one would fail every suite; it is refused here instead.
func CheckRun(run string) error {
	for _, part := range splitRun(run) {
		if _, err := regexp.Compile(part); err != nil {
			return fmt.Errorf("--run %q is not a valid test selection (a regular expression per level, split on '/'): %w", run, err)
		}
	}
	return nil
}

// splitRun splits run on '/' outside [] and (), like the testing package.
func splitRun(run string) []string {
	var parts []string
	cs, cp, start := 0, 0, 0
	for i := 0; i < len(run); i++ {
		switch run[i] {
		case '[':
			cs++
		case ']':
			if cs--; cs < 0 {
				cs = 0
			}
		case '(':
			if cs == 0 {
				cp++
			}
		case ')':
			if cs == 0 {
				cp--
			}
		case '\\':
			i++
		case '/':
			if cs == 0 && cp == 0 {
				parts = append(parts, run[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, run[start:])
}
