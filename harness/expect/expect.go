// Package expect is bpfmatrix's expectation model: what each kernel is
// expected to support ([Facts]: version, architecture, build configuration,
// how it was booted), the rules that turn those facts into the expected
// outcome and attach mechanism of each test ([Model], [Rule], [Case]) and
// the shared vocabulary the suites write their rules in. It also holds the
// boot profiles, since they change the facts (the active LSMs).
package expect

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

// Facts are what the expectation model knows about one matrix column: the
// kernel's version and architecture, its build configuration and how it
// was booted.
type Facts struct {
	// Arch is the Debian architecture: amd64 or arm64.
	Arch string
	// Major and Minor are the kernel version, from its release string.
	Major, Minor int
	// Config is the kernel's build configuration (CONFIG_X -> value).
	Config map[string]string
	// LSM is the list of active LSMs: what the booted guest reported, or,
	// before a boot, CONFIG_LSM overridden by an lsm= boot parameter.
	LSM []string
	// Accel is the accelerator the VM runs under (kvm or tcg).
	Accel string
	// ModuleTree says the kernel came with its module tree
	// (lib/modules/<release>).
	ModuleTree bool

	// read, if set, collects the config options asked of a kernel whose
	// config is unknown (see Model.Expect).
	read *[]string
}

// AtLeast reports whether the kernel is version major.minor or newer.
func (f Facts) AtLeast(major, minor int) bool {
	return f.Major > major || (f.Major == major && f.Minor >= minor)
}

// Enabled reports whether CONFIG_<opt> is y (built in).
func (f Facts) Enabled(opt string) bool {
	if f.read != nil {
		*f.read = append(*f.read, "CONFIG_"+opt)
	}
	return f.Config["CONFIG_"+opt] == "y"
}

// LSMActive reports whether the named LSM is active.
func (f Facts) LSMActive(name string) bool {
	for _, l := range f.LSM {
		if l == name {
			return true
		}
	}
	return false
}

var releaseRE = regexp.MustCompile(`^(\d+)\.(\d+)`)

// ParseRelease reads the major and minor version from a release string
// such as "6.12.117+deb13-cloud-amd64".
func ParseRelease(release string) (major, minor int, err error) {
	m := releaseRE.FindStringSubmatch(release)
	if m == nil {
		return 0, 0, fmt.Errorf("kernel release %q does not start with a version", release)
	}
	major, _ = strconv.Atoi(m[1])
	minor, _ = strconv.Atoi(m[2])
	return major, minor, nil
}

// ReadConfig parses a kernel config file (CONFIG_X=value lines; "is not
// set" comments count as "n"). Quotes around string values are removed.
func ReadConfig(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("kernel config: %w", err)
	}
	defer f.Close()
	cfg := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "# CONFIG_") && strings.HasSuffix(line, " is not set") {
			cfg[strings.TrimSuffix(strings.TrimPrefix(line, "# "), " is not set")] = "n"
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok && strings.HasPrefix(k, "CONFIG_") {
			cfg[k] = strings.Trim(v, `"`)
		}
	}
	return cfg, sc.Err()
}

// BootLSM is the LSM list a kernel activates: the lsm= parameter of the
// command line if there is one, else CONFIG_LSM.
func BootLSM(config map[string]string, cmdline []string) []string {
	list := config["CONFIG_LSM"]
	for _, a := range cmdline {
		if v, ok := strings.CutPrefix(a, "lsm="); ok {
			list = v
		}
	}
	if list == "" {
		return nil
	}
	return strings.Split(list, ",")
}

// Case is one branch of a rule: when When holds, the cell must have
// Outcome and, if set, a mechanism starting with Mechanism.
type Case struct {
	When      func(Facts) bool
	Outcome   results.Outcome
	Mechanism string
	// Why is the human reason, Source where it comes from: a minimum
	// version, a config option or a boot parameter.
	Why, Source string
}

// Rule gives the expectation for one test (row): the first case whose
// When holds (a nil When always holds).
type Rule struct {
	// Test is the row ID, suite/TestName.
	Test  string
	Cases []Case
}

// Model is an ordered set of rules.
type Model []Rule

// Expect returns the expectation for test under facts, or nil when the
// model has no rule for it.
//
// For a kernel that came without a config (Facts.Config empty), a rule
// that reads a config option is undecided: the expectation says which
// options it would need, and is neither met nor unmet.
func (m Model) Expect(test string, f Facts) *results.Expectation {
	var read []string
	if len(f.Config) == 0 {
		f.read = &read
	}
	for _, r := range m {
		if r.Test != test {
			continue
		}
		for _, c := range r.Cases {
			if c.When == nil || c.When(f) {
				if len(read) > 0 {
					return &results.Expectation{Undecided: true, Rule: "undecided: the kernel came without a config, and this rule reads " + strings.Join(slices.Compact(read), ", "), Source: c.Source}
				}
				return &results.Expectation{Outcome: c.Outcome, Mechanism: c.Mechanism, Rule: c.Why, Source: c.Source}
			}
		}
	}
	return nil
}

// Judge marks every test of kr expected or unexpected under m.
func (m Model) Judge(kr *results.KernelResult, f Facts) {
	for i := range kr.Tests {
		t := &kr.Tests[i]
		e := m.Expect(t.ID(), f)
		if e == nil {
			t.Expect = nil
			continue
		}
		e.Met = !e.Undecided && t.Result.Final() == e.Outcome && (e.Mechanism == "" || strings.HasPrefix(t.Mechanism, e.Mechanism))
		t.Expect = e
	}
}
