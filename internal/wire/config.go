package wire

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Paths inside the initramfs. The host's image builder and the guest agree
// on them through these constants.
const (
	// ConfigPath holds the JSON [Config] of one run.
	ConfigPath = "/bpfmatrix/run.json"
	// Test2JSONPath is the test2json binary.
	Test2JSONPath = "/bpfmatrix/bin/test2json"
	// TestsDir holds the test binaries, one per suite: <suite>.test.
	TestsDir = "/bpfmatrix/tests"
	// InitPath is the guest program, the VM's init.
	InitPath = "/init"
	// ModprobePath is the modprobe the kernel runs to load a module on
	// demand (/proc/sys/kernel/modprobe): a link to the guest program.
	ModprobePath = "/sbin/modprobe"
	// DiskDir holds the mounted disk images, one directory per serial.
	DiskDir = "/bpfmatrix/disks"
	// IncludeDir holds, in the initramfs, the --include files, each below
	// its guest path; the guest binds them there (Config.Binds).
	IncludeDir = "/bpfmatrix/include"
	// ExecBinDir is where the guest finds the program of a raw-exec run.
	ExecBinDir = "/bpfmatrix/exec"
	// UserTestsDir holds the test binaries of the user's packages
	// (bpfmatrix test), one per package, on a disk image of their own.
	UserTestsDir = "/bpfmatrix/usertests"
	// GoCacheDir is the Go build cache (GOCACHE) of the guest's go
	// command: the standard library compiled on the host, writable.
	GoCacheDir = "/bpfmatrix/gocache"
)

// EnvKernel is set in a raw-exec program's environment to the name of the
// kernel it runs on, e.g. "debian-6.1".
const EnvKernel = "BPFMATRIX_KERNEL"

// Config tells the guest what to do in one boot.
type Config struct {
	// Channel is the device of the result channel, e.g. /dev/ttyS1.
	Channel string `json:"channel"`
	// Modules are loaded, with their dependencies, before any suite runs.
	Modules []string `json:"modules,omitempty"`
	// Suites run in order.
	Suites []Suite `json:"suites"`
	// Env is added to every test's environment (KEY=VALUE).
	Env []string `json:"env,omitempty"`
	// Exec, if set, selects raw-exec mode: the guest runs this one program
	// instead of the suites (see [Exec]).
	Exec *Exec `json:"exec,omitempty"`
	// Disks are the read-only disk images the host attached, mounted
	// after Modules are loaded and before any test starts.
	Disks []Disk `json:"disks,omitempty"`
	// Binds put files of the initramfs at their place after the guest's
	// own mounts, which would hide them (tmpfs on /tmp): the staged
	// --include files below IncludeDir. Source is absolute here.
	Binds []Bind `json:"binds,omitempty"`
	// Parallel is how many independent test binaries (suites without a
	// Parent, or groups of suites sharing one) run at once, as go test -p
	// runs packages; 0 means one per guest CPU.
	Parallel int `json:"parallel,omitempty"`
}

// Disk is one read-only disk image: a virtio block device whose serial is
// Serial, holding a file system of type FSType. The guest mounts it at
// DiskDir/<serial> and bind-mounts each of Binds.
type Disk struct {
	Serial string `json:"serial"`
	FSType string `json:"fstype"`
	Binds  []Bind `json:"binds"`
}

// Bind makes the directory Source of a disk (relative to its root; "" is
// the root) appear at Target in the guest. With Writable, the guest sees a
// writable copy: an overlay whose changes live in memory and are lost at
// power-off.
type Bind struct {
	Source   string `json:"source,omitempty"`
	Target   string `json:"target"`
	Writable bool   `json:"writable,omitempty"`
}

// Suite is one test binary.
type Suite struct {
	// Name is the suite's short name, e.g. "kprobe".
	Name string `json:"name"`
	// Package is the Go import path, reported in test2json events.
	Package string `json:"package"`
	// Binary is the path of the test binary in the guest.
	Binary string `json:"binary"`
	// Parent, if set, is the top-level test of Binary whose subtest Name
	// runs the suite. Consecutive suites with the same Binary and Parent
	// run in one process, restarted for the suites after one that crashed
	// or timed out. Empty: the binary's tests are the suite.
	Parent string `json:"parent,omitempty"`
	// Run selects the suite's tests, as go test -run does.
	Run string `json:"run,omitempty"`
	// Args are passed to the test binary, e.g. -test.count=2.
	Args []string `json:"args,omitempty"`
	// Timeout bounds the suite's tests; the guest kills the binary after
	// that.
	Timeout Duration `json:"timeout,omitempty"`
	// Dir, if set, is the binary's working directory (a package
	// directory, as go test runs a test binary in it); default: a new
	// directory under /tmp.
	Dir string `json:"dir,omitempty"`
	// CoverProfile asks the binary for a coverage profile
	// (-test.coverprofile, into a file of the guest's own): the guest
	// sends it back as [TypeCoverage] events when the binary has ended.
	CoverProfile bool `json:"cover_profile,omitempty"`
}

// Exec is one program run in raw-exec mode: `bpfmatrix exec` (and `go test
// -exec`) and `bpfmatrix shell`. The guest runs it once with exactly these
// arguments, streams what it writes as [TypeOutput] events (unless
// Console is set), reports its end with a [TypeExit] event and powers
// off.
type Exec struct {
	// Path is the program in the guest.
	Path string `json:"path"`
	// Args are its arguments, without the program name.
	Args []string `json:"args,omitempty"`
	// Env is its environment (KEY=VALUE), on top of the guest's base environment (PATH, HOME=/tmp, TMPDIR=/tmp, EnvGuest=1).
	Env []string `json:"env,omitempty"`
	// Dir is its working directory; default "/".
	Dir string `json:"dir,omitempty"`
	// Console, if set, is a terminal device (e.g. /dev/ttyS0): the program
	// runs interactively on it, as the session leader with it as its
	// controlling terminal, and its output is not streamed.
	Console string `json:"console,omitempty"`
	// Rows and Cols, if set, are the console's size as the program sees
	// it (a serial line has none of its own).
	Rows int `json:"rows,omitempty"`
	Cols int `json:"cols,omitempty"`
}

// Duration is a time.Duration that reads and writes JSON as "1m30s".
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

// LoadConfig reads and checks the config at path.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read guest config: %w", err)
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("parse guest config %s: %w", path, err)
	}
	if c.Channel == "" {
		return nil, fmt.Errorf("guest config %s: no result channel", path)
	}
	if c.Exec != nil && c.Exec.Path == "" {
		return nil, fmt.Errorf("guest config %s: exec has no program path", path)
	}
	for i, d := range c.Disks {
		if d.Serial == "" || d.FSType == "" || strings.Contains(d.Serial, "/") {
			return nil, fmt.Errorf("guest config %s: disk %d has no serial or file system type", path, i)
		}
		for _, b := range d.Binds {
			if !filepath.IsAbs(b.Target) || strings.Contains(b.Source, "..") {
				return nil, fmt.Errorf("guest config %s: disk %s: bind %q -> %q: the target must be absolute and the source inside the disk", path, d.Serial, b.Source, b.Target)
			}
		}
	}
	for i, s := range c.Suites {
		if s.Name == "" || s.Binary == "" {
			return nil, fmt.Errorf("guest config %s: suite %d has no name or binary", path, i)
		}
		if s.Dir != "" && !filepath.IsAbs(s.Dir) {
			return nil, fmt.Errorf("guest config %s: suite %s: working directory %q is not absolute", path, s.Name, s.Dir)
		}
	}
	return &c, nil
}

// Summary says in a line what the guest was asked to do, for its console.
func (c *Config) Summary() string {
	if c.Exec != nil {
		return fmt.Sprintf("running %s, results on %s", c.Exec.Path, c.Channel)
	}
	return fmt.Sprintf("running %d suite(s), results on %s", len(c.Suites), c.Channel)
}
