// Package attach attaches BPF programs through ordered fallback chains:
// the preferred mechanism first (fentry, kprobe.multi, tcx, BPF LSM, ring
// buffer, ...), then older ones that more kernels support, until one
// works. It is modelled on cilium/ebpf's link package: options structs,
// and errors wrapped with %w (ebpf.ErrNotSupported where the kernel lacks
// the feature).
//
// Feature probes are hints, not truth: a chain decides on the attach
// error itself and, when the caller gives a Verify function, on an event
// actually seen. Every chain returns a Result that says which mechanism
// won and why each earlier one failed, e.g.
//
//	kprobe (fallback: fentry: no BTF for module veth: not supported)
//
// Chain is the generic engine; Entry, Exit, ModuleFunc, KprobeMulti,
// UprobeMulti, TC, LSM and Events are ready-made chains.
package attach

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"

	"github.com/cilium/ebpf"
)

// Step is one mechanism a chain tried and the reason it failed.
type Step struct {
	// Mechanism names what was tried, e.g. "fentry".
	Mechanism string
	// Err is why it failed; it wraps ebpf.ErrNotSupported when the kernel
	// lacks the feature.
	Err error
}

// String formats the step as "mechanism: reason".
func (s Step) String() string { return fmt.Sprintf("%s: %v", s.Mechanism, s.Err) }

// Result says what a chain did: the mechanism that won (empty if none)
// and, in order, every step that failed before it.
type Result struct {
	// Mechanism is the winning mechanism, empty when every step failed.
	Mechanism string
	// Failed are the steps that failed, in the order they were tried.
	Failed []Step
}

// FellBack reports whether a mechanism other than the first one won.
func (r Result) FellBack() bool { return r.Mechanism != "" && len(r.Failed) > 0 }

// String gives the winning mechanism, followed by the failed steps if
// there were any: "fentry", or "kprobe (fallback: fentry: <reason>)",
// several failed steps joined with "; ". Without a winner it gives
// "none (failed: ...)".
func (r Result) String() string {
	if len(r.Failed) == 0 {
		if r.Mechanism == "" {
			return "none"
		}
		return r.Mechanism
	}
	steps := make([]string, len(r.Failed))
	for i, s := range r.Failed {
		steps[i] = s.String()
	}
	if r.Mechanism == "" {
		return "none (failed: " + strings.Join(steps, "; ") + ")"
	}
	return r.Mechanism + " (fallback: " + strings.Join(steps, "; ") + ")"
}

// Attempt is one step of a chain.
type Attempt struct {
	// Mechanism names the step in the Result.
	Mechanism string
	// Attach loads and attaches whatever the step needs and returns what
	// detaches it again (a link.Link, or any io.Closer). An error moves
	// the chain on to the next step.
	Attach func() (io.Closer, error)
	// Verify, if set, runs after a successful Attach: it triggers the hook
	// and checks that an event was actually seen. An error counts as a
	// failed step: the chain closes what Attach returned and moves on.
	Verify func() error
}

// ErrNoAttempts is returned by Chain when it is given no attempts.
var ErrNoAttempts = errors.New("attach: chain without attempts")

// ErrNotActive wraps ebpf.ErrNotSupported for a mechanism the kernel has
// but does not run in this boot, e.g. the BPF LSM when "bpf" is missing
// from /sys/kernel/security/lsm.
var ErrNotActive = fmt.Errorf("not active in this boot: %w", ebpf.ErrNotSupported)

// ChainError is returned when every step of a chain failed.
type ChainError struct {
	// Steps are the failed steps, in order.
	Steps []Step
}

// Error lists every step and its reason.
func (e *ChainError) Error() string {
	return "attach: every mechanism failed: " + Result{Failed: e.Steps}.String()
}

// Unwrap returns the step errors that explain the failure: when every
// step failed with ebpf.ErrNotSupported, all of them, so that
// errors.Is(err, ebpf.ErrNotSupported) holds; otherwise only the steps
// that failed for another reason, so that a real failure is never
// mistaken for a missing kernel feature.
func (e *ChainError) Unwrap() []error {
	var unsupported, other []error
	for _, s := range e.Steps {
		if errors.Is(s.Err, ebpf.ErrNotSupported) {
			unsupported = append(unsupported, s.Err)
		} else {
			other = append(other, s.Err)
		}
	}
	if len(other) > 0 {
		return other
	}
	return unsupported
}

// Chain tries attempts in order and returns what the first one that
// attached (and verified) returned, with the Result. If all fail it
// returns a *ChainError and the Result listing every failure.
func Chain(attempts ...Attempt) (io.Closer, Result, error) {
	var r Result
	if len(attempts) == 0 {
		return nil, r, ErrNoAttempts
	}
	for _, a := range attempts {
		c, err := try(a)
		if err != nil {
			r.Failed = append(r.Failed, Step{Mechanism: a.Mechanism, Err: err})
			continue
		}
		r.Mechanism = a.Mechanism
		return c, r, nil
	}
	return nil, r, &ChainError{Steps: r.Failed}
}

// try runs one attempt: Attach, then Verify, closing on a failed Verify.
func try(a Attempt) (io.Closer, error) {
	if a.Attach == nil {
		return nil, errors.New("no Attach function")
	}
	c, err := a.Attach()
	if err != nil {
		return nil, err
	}
	if c == nil {
		c = nopCloser{}
	}
	if a.Verify == nil {
		return c, nil
	}
	if err := a.Verify(); err != nil {
		err = fmt.Errorf("attached, but verify failed: %w", err)
		if cerr := c.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("detach: %w", cerr))
		}
		return nil, err
	}
	return c, nil
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

// closers closes its members in reverse order and joins their errors.
type closers []io.Closer

func (cs closers) Close() error {
	var errs []error
	for i := len(cs) - 1; i >= 0; i-- {
		if cs[i] != nil {
			errs = append(errs, cs[i].Close())
		}
	}
	return errors.Join(errs...)
}

// closeFunc adapts a function to io.Closer.
type closeFunc func() error

func (f closeFunc) Close() error { return f() }

// enotsupp is the kernel-internal ENOTSUPP (524) the BPF syscall returns,
// e.g. when the architecture cannot build a BPF trampoline.
const enotsupp = syscall.Errno(524)

// notSupported wraps err with ebpf.ErrNotSupported if it is an errno that
// means the kernel lacks the feature and err does not already say so.
func notSupported(err error) error {
	if err == nil || errors.Is(err, ebpf.ErrNotSupported) {
		return err
	}
	if errors.Is(err, enotsupp) || errors.Is(err, syscall.EOPNOTSUPP) {
		return fmt.Errorf("%w: %w", err, ebpf.ErrNotSupported)
	}
	return err
}
