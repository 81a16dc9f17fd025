// Package expect has a test that passes where bpfmatrix.yaml says it is
// unsupported: an unexpected cell.
package expect

import "testing"

func TestNewKernel(t *testing.T) {}
