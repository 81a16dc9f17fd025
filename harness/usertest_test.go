package harness

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/bpfmatrix/bpfmatrix/harness/gotest"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

func TestMarkBroken(t *testing.T) {
	kr := &results.KernelResult{Kernel: results.KernelInfo{Arch: "arm64"}, Tests: []results.TestResult{
		{Suite: "a", Name: "TestA", Result: results.Pass},
		{Suite: "b", Name: "(suite)", Result: results.Fail, Reason: "the test binary ran no test of b"},
	}}
	markBroken(kr, []*gotest.BuildError{{Package: "b", GOARCH: "arm64", Output: "b.go:1: oops"}, {Package: "a", GOARCH: "amd64"}})
	assert.Equal(t, []results.TestResult{
		{Suite: "a", Name: "TestA", Result: results.Pass},
		{Suite: "b", Name: BuildCell, Result: results.Fail, Reason: "the package's test binary does not build for arm64", Output: "b.go:1: oops"},
	}, kr.Tests, "the broken package's cells become one build cell; a package broken only on amd64 keeps its arm64 cells")
}
