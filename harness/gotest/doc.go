// Package gotest does on the host what go test would for bpfmatrix test:
// it sorts go test's flags into those that build the test binaries and
// those they run with, lists the packages of the user's module that have
// tests, builds their test binaries for the guest (go test -c) and merges
// the coverage profiles that come back. It also finds the module of a
// directory and the Go installation a test binary reads. It runs the go
// command and nothing else: no VM, no image.
package gotest
