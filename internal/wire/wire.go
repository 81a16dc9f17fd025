// Package wire is the typed contract between the guest program and the host,
// and the only package both import: what the host asks of one boot
// ([Config], [Suite], [Exec]), where things are in the initramfs
// ([ConfigPath], [TestsDir], ...), the environment of the programs the
// guest runs ([EnvGuest], [EnvRecords], ...) and the framed events the
// guest sends back on a channel of their own, separate from the kernel
// console. It imports only the standard library.
//
// Every frame is one line:
//
//	BPFM1 <seq> <crc32> <json>\n
//
// where seq counts frames from 1, crc32 is the IEEE CRC-32 of the JSON bytes
// in 8 lowercase hex digits, and json is one encoded [Event]. A frame that is
// truncated, corrupted, oversized or out of order is reported as a
// [*FrameError] and skipped; the stream goes on. The guest ends every
// successful run with a [TypeDone] event: a stream that ends without one means
// the guest died, never that it passed.
package wire

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
	"sync"
	"time"
)

// Magic starts every frame.
const Magic = "BPFM1"

// Environment the guest gives the test binaries it runs. The tests'
// side of the contract lives here, not in package guest, so that test
// binaries do not link the guest program's dependencies.
const (
	// EnvGuest is "1": tests that need a bpfmatrix VM check it.
	EnvGuest = "BPFMATRIX_GUEST"
	// EnvRecords is the JSON Lines file tests append their records to.
	EnvRecords = "BPFMATRIX_RECORDS"
	// EnvInject lists the families (or "all") whose tests must compare
	// against a wrong expected value, to prove the checks can fail.
	EnvInject = "BPFMATRIX_INJECT"
	// EnvMachine is the JSON [Machine] the host asked for, which the
	// machine suite checks the guest against.
	EnvMachine = "BPFMATRIX_MACHINE"
)

// Machine is what the host asked of a guest: what the machine suite
// checks that the guest has.
type Machine struct {
	// CPUs is the number of CPUs (QEMU's -smp).
	CPUs int `json:"cpus"`
	// ConfigSHA256 is the hex SHA-256 of the kernel's config file, which
	// the guest must have at /boot/config-<release>; "" if the kernel has
	// none.
	ConfigSHA256 string `json:"config_sha256,omitempty"`
	// Modules says the kernel has a module tree, which the guest must have
	// at /lib/modules/<release> and load from on demand.
	Modules bool `json:"modules"`
}

// MaxFrame is the longest frame, in bytes, that a [Decoder] accepts.
const MaxFrame = 1 << 20

// Type names the kind of an [Event].
type Type string

// The event types.
const (
	// TypeHello is the first event of a boot: what kernel the guest sees.
	TypeHello Type = "hello"
	// TypeModule reports one kernel module the guest loaded (or failed to).
	TypeModule Type = "module"
	// TypeTest carries one test2json event of a test binary.
	TypeTest Type = "test"
	// TypeRecord carries one structured record a test reported.
	TypeRecord Type = "record"
	// TypeSuite ends one test binary.
	TypeSuite Type = "suite"
	// TypeLog is a diagnostic line from the guest program.
	TypeLog Type = "log"
	// TypeDone is the last event of a complete run.
	TypeDone Type = "done"
	// TypeOutput carries a chunk of a raw-exec program's stdout or stderr.
	TypeOutput Type = "output"
	// TypeExit reports how a raw-exec program ended.
	TypeExit Type = "exit"
	// TypeSplat carries a kernel warning, BUG, oops, stall or lockup the
	// guest found in the kernel log.
	TypeSplat Type = "splat"
	// TypeCoverage carries a chunk of a test binary's coverage profile
	// (see [Suite.CoverProfile]).
	TypeCoverage Type = "coverage"
)

// Event is one message from the guest. Exactly one of the payload fields
// matches Type.
type Event struct {
	Seq    uint64     `json:"seq"`
	Type   Type       `json:"type"`
	Time   time.Time  `json:"time"`
	Hello  *Hello     `json:"hello,omitempty"`
	Module *Module    `json:"module,omitempty"`
	Test   *TestEvent `json:"test,omitempty"`
	Record *Record    `json:"record,omitempty"`
	Suite  *SuiteEnd  `json:"suite,omitempty"`
	Log    string     `json:"log,omitempty"`
	Done   *Done      `json:"done,omitempty"`
	Output *Output    `json:"output,omitempty"`
	Exit   *Exit      `json:"exit,omitempty"`
	Splat  *Splat     `json:"splat,omitempty"`
	Cover  *Coverage  `json:"coverage,omitempty"`

	// Lost is set by the Decoder: how many frames were missing just before
	// this one (a gap in the sequence numbers). It is never encoded.
	Lost uint64 `json:"-"`
}

// Splat is a kernel warning, BUG, oops, stall or lockup from the kernel
// log (see package internal/splat, which finds them).
type Splat struct {
	// Kind is e.g. "warning", "bug", "rcu-stall".
	Kind string `json:"kind"`
	// Lines are the report as logged.
	Lines []string `json:"lines"`
}

// MaxCoverageChunk bounds the profile bytes of one [Coverage] event, so
// that its frame stays well below MaxFrame.
const MaxCoverageChunk = 256 << 10

// Coverage is a chunk of one suite's coverage profile (the text format of
// go test -coverprofile); the chunks of a suite, in order, are the
// profile.
type Coverage struct {
	Suite string `json:"suite"`
	Data  []byte `json:"data"`
}

// Hello describes the booted kernel as the guest sees it.
type Hello struct {
	Release string `json:"release"`
	Version string `json:"version"`
	Machine string `json:"machine"`
	Cmdline string `json:"cmdline"`
	// LSM is the content of /sys/kernel/security/lsm, the active LSMs.
	LSM string `json:"lsm,omitempty"`
	// Clock says where the guest's boot went, in seconds since the kernel
	// started.
	Clock *BootClock `json:"clock,omitempty"`
}

// BootClock holds guest-side boot times, in seconds since the kernel
// started its clock (CLOCK_BOOTTIME).
type BootClock struct {
	// Init is when the kernel ran /init (the guest program): the kernel's
	// own boot, with the initramfs unpacked.
	Init float64 `json:"init"`
	// Hello is when the guest sent its hello, its set-up done.
	Hello float64 `json:"hello"`
}

// Module reports loading one kernel module.
type Module struct {
	Name  string `json:"name"`
	Error string `json:"error,omitempty"`
}

// TestEvent is one event of `go test -json` (test2json), tagged with the
// suite whose binary produced it.
type TestEvent struct {
	Suite   string    `json:"suite"`
	Time    time.Time `json:"Time,omitempty"`
	Action  string    `json:"Action"`
	Package string    `json:"Package,omitempty"`
	Test    string    `json:"Test,omitempty"`
	Elapsed float64   `json:"Elapsed,omitempty"`
	Output  string    `json:"Output,omitempty"`
}

// Record is a structured result that a test reports about itself: which hook
// it attached, with which mechanism, and how many events it verified.
type Record struct {
	Suite     string `json:"suite"`
	Test      string `json:"test"`
	Hook      string `json:"hook,omitempty"`
	Mechanism string `json:"mechanism,omitempty"`
	Events    int    `json:"events,omitempty"`
	// Unsupported holds the kernel's reason when the hook is not supported.
	Unsupported string `json:"unsupported,omitempty"`
}

// SuiteEnd reports how one test binary ended.
type SuiteEnd struct {
	Suite    string  `json:"suite"`
	ExitCode int     `json:"exit_code"`
	Error    string  `json:"error,omitempty"`
	Seconds  float64 `json:"seconds"`
}

// Done is the last event of a complete guest run.
type Done struct {
	Suites int    `json:"suites"`
	Error  string `json:"error,omitempty"`
}

// The streams of an [Output] event.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// Output is a chunk of what a raw-exec program wrote, exactly as written.
type Output struct {
	// Stream is [Stdout] or [Stderr].
	Stream string `json:"stream"`
	// Data is base64 in JSON, so any bytes survive.
	Data []byte `json:"data"`
}

// Exit reports how a raw-exec program ended.
type Exit struct {
	// Code is the exit code; -1 if the program did not start or was
	// killed by a signal.
	Code int `json:"code"`
	// Error says why the program did not start or how it died.
	Error   string  `json:"error,omitempty"`
	Seconds float64 `json:"seconds"`
}

// Encoder writes frames. It is safe for concurrent use.
type Encoder struct {
	mu  sync.Mutex
	w   io.Writer
	seq uint64
}

// NewEncoder returns an Encoder writing to w.
func NewEncoder(w io.Writer) *Encoder {
	return &Encoder{w: w}
}

// Encode assigns the next sequence number to ev and writes it as one frame.
func (e *Encoder) Encode(ev Event) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.seq++
	ev.Seq = e.seq
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", ev.Type, err)
	}
	frame := AppendFrame(nil, ev.Seq, body)
	if len(frame) > MaxFrame {
		return fmt.Errorf("encode %s event: frame of %d bytes exceeds %d", ev.Type, len(frame), MaxFrame)
	}
	_, err = e.w.Write(frame)
	return err
}

// AppendFrame appends the frame for body with sequence number seq to dst.
func AppendFrame(dst []byte, seq uint64, body []byte) []byte {
	dst = append(dst, Magic...)
	dst = append(dst, ' ')
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, ' ')
	dst = append(dst, fmt.Sprintf("%08x", crc32.ChecksumIEEE(body))...)
	dst = append(dst, ' ')
	dst = append(dst, body...)
	return append(dst, '\n')
}
