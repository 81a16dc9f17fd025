package gotest

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Flags are the go test flags of `bpfmatrix test` (after --), sorted
// into what builds the test binaries and what they run with.
type Flags struct {
	// BuildFlags are flags of go test -c (-race, -cover, -tags, ...).
	BuildFlags []string
	// Run is -run; TestArgs are the other flags of the test binaries, as
	// -test.NAME=VALUE.
	Run      string
	TestArgs []string
	// Timeout is -timeout (0: not given); HasTimeout says it was given.
	Timeout    time.Duration
	HasTimeout bool
	// Parallel is -p (0: not given).
	Parallel int
	// CoverProfile is -coverprofile, absolute.
	CoverProfile string
}

// goFlagKind is how bpfmatrix test handles one go test flag.
type goFlagKind int

const (
	goFlagTest     goFlagKind = iota // passed to the test binaries as -test.NAME
	goFlagTestBool                   // the same, a boolean
	goFlagBuild                      // passed to go test -c
	goFlagBuildBool
	goFlagDrop   // accepted and not needed: test2json output is always verbose, and go test -c does not vet
	goFlagRefuse // cannot work: the reason is in goFlagRefused
)

var goFlagKinds = map[string]goFlagKind{
	"run": goFlagTest, "skip": goFlagTest, "count": goFlagTest, "timeout": goFlagTest, "cpu": goFlagTest,
	"parallel": goFlagTest, "bench": goFlagTest, "benchtime": goFlagTest, "list": goFlagTest, "shuffle": goFlagTest,
	"coverprofile": goFlagTest, "p": goFlagTest,
	"short": goFlagTestBool, "failfast": goFlagTestBool, "benchmem": goFlagTestBool, "fullpath": goFlagTestBool,
	"race": goFlagBuildBool, "cover": goFlagBuildBool, "trimpath": goFlagBuildBool, "a": goFlagBuildBool,
	"msan": goFlagBuildBool, "asan": goFlagBuildBool,
	"covermode": goFlagBuild, "coverpkg": goFlagBuild, "tags": goFlagBuild, "gcflags": goFlagBuild, "ldflags": goFlagBuild,
	"asmflags": goFlagBuild, "mod": goFlagBuild, "modfile": goFlagBuild, "buildvcs": goFlagBuild, "pgo": goFlagBuild,
	"overlay": goFlagBuild,
	"v":       goFlagDrop, "vet": goFlagDrop,
	"json": goFlagRefuse, "exec": goFlagRefuse, "c": goFlagRefuse, "o": goFlagRefuse, "cpuprofile": goFlagRefuse,
	"memprofile": goFlagRefuse, "blockprofile": goFlagRefuse, "mutexprofile": goFlagRefuse, "trace": goFlagRefuse,
	"outputdir": goFlagRefuse, "memprofilerate": goFlagRefuse, "blockprofilerate": goFlagRefuse, "mutexprofilefraction": goFlagRefuse,
}

var goFlagRefused = map[string]string{
	"json": "the results are written with --json FILE (and --junit, --markdown, --html)",
	"exec": "bpfmatrix test runs the binaries itself; for go test -exec use bpfmatrix exec",
	"c":    "bpfmatrix test builds the binaries itself",
	"o":    "bpfmatrix test builds the binaries itself",
}

// ParseFlags reads go test flags (each -name, -name=value or -name
// value; -- and --name work too). cwd makes -coverprofile absolute.
func ParseFlags(args []string, cwd string) (*Flags, error) {
	g := &Flags{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			return nil, fmt.Errorf("%q after -- is no go test flag (packages go before --: bpfmatrix test ./pkg/... -- -short)", a)
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		name = strings.TrimPrefix(name, "test.")
		kind, ok := goFlagKinds[name]
		if !ok {
			return nil, fmt.Errorf("go test flag %s is unknown to bpfmatrix test", a)
		}
		switch kind {
		case goFlagRefuse:
			why := goFlagRefused[name]
			if why == "" {
				why = "the file would be written in the guest, whose files are lost at power-off"
			}
			return nil, fmt.Errorf("go test flag -%s is not supported by bpfmatrix test: %s", name, why)
		case goFlagTestBool, goFlagBuildBool, goFlagDrop:
			if hasValue {
				if _, err := strconv.ParseBool(value); err != nil && kind != goFlagDrop {
					return nil, fmt.Errorf("go test flag %s: %q is not a boolean", a, value)
				}
			} else {
				value = "true"
			}
		default:
			if !hasValue {
				if i+1 >= len(args) {
					return nil, fmt.Errorf("go test flag -%s needs a value", name)
				}
				i++
				value = args[i]
			}
		}
		if err := g.add(name, kind, value, cwd); err != nil {
			return nil, err
		}
	}
	return g, nil
}

func (g *Flags) add(name string, kind goFlagKind, value, cwd string) error {
	switch {
	case name == "run":
		g.Run = value
	case name == "timeout":
		d, err := time.ParseDuration(value)
		if err != nil || d < 0 {
			return fmt.Errorf("go test flag -timeout %q: want a duration such as 10m", value)
		}
		if d == 0 {
			d = 24 * time.Hour // go test: 0 is no timeout
		}
		g.Timeout, g.HasTimeout = d, true
	case name == "p":
		n, err := strconv.Atoi(value)
		if err != nil || n < 1 {
			return fmt.Errorf("go test flag -p %q: want a number of at least 1", value)
		}
		g.Parallel = n
	case name == "coverprofile":
		if !filepath.IsAbs(value) {
			value = filepath.Join(cwd, value)
		}
		g.CoverProfile = value
		if !g.hasBuild("-cover") {
			g.BuildFlags = append(g.BuildFlags, "-cover")
		}
	case kind == goFlagTest || kind == goFlagTestBool:
		g.TestArgs = append(g.TestArgs, "-test."+name+"="+value)
	case kind == goFlagBuildBool:
		if b, _ := strconv.ParseBool(value); b && !g.hasBuild("-"+name) {
			g.BuildFlags = append(g.BuildFlags, "-"+name)
		}
	case kind == goFlagBuild:
		g.BuildFlags = append(g.BuildFlags, "-"+name+"="+value)
		if (name == "covermode" || name == "coverpkg") && !g.hasBuild("-cover") {
			g.BuildFlags = append(g.BuildFlags, "-cover")
		}
	}
	return nil
}

func (g *Flags) hasBuild(flag string) bool {
	for _, b := range g.BuildFlags {
		if b == flag {
			return true
		}
	}
	return false
}
