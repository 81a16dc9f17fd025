// Package notests has no test files: bpfmatrix test skips it.
package notests
