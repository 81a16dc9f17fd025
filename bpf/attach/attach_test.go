package attach

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"

	"github.com/cilium/ebpf"
)

// fake is a closer that records whether it was closed.
type fake struct{ closed bool }

func (f *fake) Close() error { f.closed = true; return nil }

// attempt builds a fake Attempt that appends its name to *order.
func attempt(name string, order *[]string, attachErr, verifyErr error, c *fake) Attempt {
	a := Attempt{Mechanism: name, Attach: func() (io.Closer, error) {
		*order = append(*order, name)
		if attachErr != nil {
			return nil, attachErr
		}
		return c, nil
	}}
	if verifyErr != nil {
		a.Verify = func() error { return verifyErr }
	}
	return a
}

func TestChain(t *testing.T) {
	unsupp := fmt.Errorf("fentry: %w", ebpf.ErrNotSupported)
	denied := errors.New("permission denied")
	for _, tc := range []struct {
		name        string
		attachErrs  []error
		verifyErrs  []error
		wantMech    string
		wantOrder   []string
		wantString  string
		wantErr     bool
		wantNotSupp bool
	}{
		{name: "first wins", attachErrs: []error{nil, nil}, wantMech: "a", wantOrder: []string{"a"}, wantString: "a"},
		{name: "fallback", attachErrs: []error{unsupp, nil}, wantMech: "b", wantOrder: []string{"a", "b"},
			wantString: "b (fallback: a: fentry: not supported)"},
		{name: "two fallbacks", attachErrs: []error{unsupp, denied, nil}, wantMech: "c", wantOrder: []string{"a", "b", "c"},
			wantString: "c (fallback: a: fentry: not supported; b: permission denied)"},
		{name: "verify fails", attachErrs: []error{nil, nil}, verifyErrs: []error{errors.New("no event"), nil},
			wantMech: "b", wantOrder: []string{"a", "b"},
			wantString: "b (fallback: a: attached, but verify failed: no event)"},
		{name: "all unsupported", attachErrs: []error{unsupp, unsupp}, wantOrder: []string{"a", "b"}, wantErr: true, wantNotSupp: true,
			wantString: "none (failed: a: fentry: not supported; b: fentry: not supported)"},
		{name: "one denied failure", attachErrs: []error{unsupp, denied}, wantOrder: []string{"a", "b"}, wantErr: true,
			wantString: "none (failed: a: fentry: not supported; b: permission denied)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var order []string
			var atts []Attempt
			fakes := make([]*fake, len(tc.attachErrs))
			for i, err := range tc.attachErrs {
				var verr error
				if i < len(tc.verifyErrs) {
					verr = tc.verifyErrs[i]
				}
				fakes[i] = &fake{}
				atts = append(atts, attempt(string(rune('a'+i)), &order, err, verr, fakes[i]))
			}
			c, r, err := Chain(atts...)
			if got := strings.Join(order, ","); got != strings.Join(tc.wantOrder, ",") {
				t.Errorf("order = %s, want %s", got, strings.Join(tc.wantOrder, ","))
			}
			if r.Mechanism != tc.wantMech {
				t.Errorf("Mechanism = %q, want %q", r.Mechanism, tc.wantMech)
			}
			if r.String() != tc.wantString {
				t.Errorf("String() = %q, want %q", r.String(), tc.wantString)
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if got := errors.Is(err, ebpf.ErrNotSupported); got != tc.wantNotSupp {
				t.Errorf("errors.Is(err, ErrNotSupported) = %v, want %v", got, tc.wantNotSupp)
			}
			if err == nil {
				if c == nil {
					t.Fatal("nil closer")
				}
				if err := c.Close(); err != nil {
					t.Error(err)
				}
			}
			for i, f := range fakes {
				// Only the verified winner and failed verifications were closed.
				won := string(rune('a'+i)) == tc.wantMech
				verified := i < len(tc.verifyErrs) && tc.verifyErrs[i] != nil
				if want := won || verified; f.closed != want {
					t.Errorf("attempt %d closed = %v, want %v", i, f.closed, want)
				}
			}
			for _, s := range r.Failed {
				if s.Err == nil {
					t.Errorf("step %s has no error", s.Mechanism)
				}
			}
			if tc.name == "fallback" && !errors.Is(r.Failed[0].Err, ebpf.ErrNotSupported) {
				t.Errorf("failed step does not wrap ErrNotSupported: %v", r.Failed[0].Err)
			}
			if r.FellBack() != (len(r.Failed) > 0 && r.Mechanism != "") {
				t.Errorf("FellBack() = %v", r.FellBack())
			}
		})
	}
}

func TestChainWithoutAttempts(t *testing.T) {
	if _, _, err := Chain(); !errors.Is(err, ErrNoAttempts) {
		t.Fatalf("Chain() err = %v, want ErrNoAttempts", err)
	}
	_, r, err := Chain(Attempt{Mechanism: "x"})
	if err == nil || len(r.Failed) != 1 {
		t.Fatalf("attempt without Attach: err %v, result %v", err, r)
	}
}

func TestNotSupported(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("attach: %w", syscall.Errno(524)), true},
		{fmt.Errorf("attach: %w", syscall.EOPNOTSUPP), true},
		{fmt.Errorf("attach: %w", ebpf.ErrNotSupported), true},
		{fmt.Errorf("attach: %w", syscall.EPERM), false},
	} {
		if got := errors.Is(notSupported(tc.err), ebpf.ErrNotSupported); got != tc.want {
			t.Errorf("notSupported(%v) wraps ErrNotSupported = %v, want %v", tc.err, got, tc.want)
		}
	}
	if !errors.Is(ErrNotActive, ebpf.ErrNotSupported) {
		t.Error("ErrNotActive does not wrap ErrNotSupported")
	}
}

func TestResultString(t *testing.T) {
	r := Result{Mechanism: "kprobe security_file_open " + ObserveOnly, Failed: []Step{{MechBPFLSM, fmt.Errorf("bpf not in lsm: %w", ErrNotActive)}}}
	want := "kprobe security_file_open (observe only: cannot deny) (fallback: bpf lsm: bpf not in lsm: not active in this boot: not supported)"
	if r.String() != want {
		t.Errorf("String() = %q, want %q", r.String(), want)
	}
	if (Result{}).String() != "none" {
		t.Errorf("empty Result = %q", Result{}.String())
	}
}
