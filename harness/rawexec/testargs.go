package rawexec

import (
	"strings"
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/runner"
)

// IsTestRun reports whether args look like go test's: then the working
// directory is the package directory and is packed.
func IsTestRun(args []string) bool {
	for _, a := range args {
		if strings.HasPrefix(a, "-test.") {
			return true
		}
	}
	return false
}

// Timeout is the VM timeout for a program with args: its -test.timeout
// plus time to boot, else 10m; 1h for -test.timeout=0 (no timeout).
func Timeout(args []string) time.Duration {
	for i, a := range args {
		v, ok := strings.CutPrefix(a, "-test.timeout=")
		if !ok && a == "-test.timeout" && i+1 < len(args) {
			v, ok = args[i+1], true
		}
		if !ok {
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			break
		}
		if d == 0 {
			return time.Hour
		}
		return d + 3*time.Minute
	}
	return runner.ExecTimeout
}
