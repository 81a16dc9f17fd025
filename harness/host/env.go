// Package host checks and describes the machine bpfmatrix runs on: that
// QEMU is installed and the cache has room (Preflight), where the bpfmatrix
// source the guest is built from is (FindSource), which of the host's
// environment variables a guest program may see (ExecEnv) and which run
// directories the cache keeps (PruneRuns).
package host

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

// EnvExclude matches the host variables [ExecEnv] never passes to the
// guest: paths and settings of the host (PATH, HOME, the working
// directory, temp dirs, the Go toolchain's own settings, the desktop and
// SSH sessions, the dynamic loader) that mean nothing in the guest or break
// it there. The guest sets its own PATH, HOME=/tmp and TMPDIR=/tmp. The Go
// runtime's variables (GODEBUG, GOTRACEBACK, GOMAXPROCS, GOGC, GOMEMLIMIT)
// do pass.
var EnvExclude = regexp.MustCompile(`^(PATH|HOME|PWD|OLDPWD|TMPDIR|TMP|TEMP|SHELL|SHLVL|_|USER|LOGNAME|MAIL|HOSTNAME|LS_COLORS|` +
	`LD_[A-Z_]*|SSH_[A-Z_]*|GPG_[A-Z_]*|DISPLAY|WAYLAND_[A-Z_]*|DBUS_[A-Z_]*|XDG_[A-Z_]*|` +
	`GO(ROOT|PATH|BIN|CACHE|MODCACHE|TMPDIR|COVERDIR|ENV|FLAGS|TOOLCHAIN|WORK|PROXY|SUMDB|NOSUMDB|PRIVATE|NOPROXY|INSECURE|OS|ARCH|AMD64|ARM64|EXE|VCS|AUTH|TELEMETRY[A-Z_]*)|` +
	`CGO_[A-Z_]*|CC|CXX|AR|PKG_CONFIG)$`)

// ExecEnv returns the environment of a raw-exec program from the host's
// environment host: every variable except those matching [EnvExclude] or
// one of exclude, then add. An item of add is either KEY=VALUE (set or
// override) or a bare KEY (take the host's value even if excluded).
func ExecEnv(host []string, exclude []*regexp.Regexp, add []string) ([]string, error) {
	vals := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vals[k]; !ok {
			order = append(order, k)
		}
		vals[k] = v
	}
	hostVal := map[string]string{}
	for _, kv := range host {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		hostVal[k] = v
		if EnvExclude.MatchString(k) || matchAny(exclude, k) {
			continue
		}
		set(k, v)
	}
	for _, a := range add {
		k, v, ok := strings.Cut(a, "=")
		if k == "" || strings.ContainsAny(k, " \t\n") {
			return nil, fmt.Errorf("--env %q: want KEY=VALUE or KEY", a)
		}
		if !ok {
			hv, found := hostVal[k]
			if !found {
				return nil, fmt.Errorf("--env %s: not set on the host: give a value with --env %s=VALUE", k, k)
			}
			v = hv
		}
		set(k, v)
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+vals[k])
	}
	return out, nil
}

// Environ is the host environment, for [ExecEnv].
func Environ() []string { return os.Environ() }

func matchAny(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}
