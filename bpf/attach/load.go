package attach

import (
	"errors"
	"fmt"
	"io"

	"github.com/cilium/ebpf"
)

// Options are shared by the chains that load programs from a
// CollectionSpec.
type Options struct {
	// Recording, if its T is set, records every chain's Result for the
	// matrix (package record).
	Recording
	// Collection is passed to ebpf.NewCollectionWithOptions by every
	// step. Use its MapReplacements to share maps (e.g. a ring buffer
	// read by one reader) between steps.
	Collection ebpf.CollectionOptions
	// Verify, if set, runs after each step attached: it triggers the hook
	// and checks an event arrived, through coll (the step's loaded
	// objects). An error makes the chain move on.
	Verify func(mechanism string, coll *ebpf.Collection) error
}

// Attachment is what a chain attached: the Result, the winning step's
// loaded objects and what detaches it.
type Attachment struct {
	// Result says which mechanism won and why the others failed.
	Result Result
	// Collection holds the winning step's loaded objects: its program
	// and every map of the spec (nil for chains given loaded programs).
	Collection *ebpf.Collection
	// ObserveOnly is set when the winning mechanism can watch but not
	// enforce, e.g. a kprobe standing in for a BPF LSM program.
	ObserveOnly bool

	closer io.Closer
}

// Close detaches and then closes the loaded objects.
func (a *Attachment) Close() error {
	if a == nil || a.closer == nil {
		return nil
	}
	return a.closer.Close()
}

// loaded is one step's objects, kept so that the chain can hand the
// winner's to the caller.
type loaded struct {
	coll *ebpf.Collection
	prog *ebpf.Program
}

// loadOne loads a copy of spec holding only program name, after edit
// (if not nil) changed its ProgramSpec. Loading is part of a step: an
// fentry program, for instance, may fail to load where kprobes work.
func loadOne(spec *ebpf.CollectionSpec, name string, opts ebpf.CollectionOptions, edit func(*ebpf.ProgramSpec)) (loaded, error) {
	if spec == nil {
		return loaded{}, errors.New("nil CollectionSpec")
	}
	cs := spec.Copy()
	ps, ok := cs.Programs[name]
	if !ok {
		return loaded{}, fmt.Errorf("no program %q in the spec", name)
	}
	for n := range cs.Programs {
		if n != name {
			delete(cs.Programs, n)
		}
	}
	if edit != nil {
		edit(ps)
	}
	coll, err := ebpf.NewCollectionWithOptions(cs, opts)
	if err != nil {
		return loaded{}, fmt.Errorf("load %s: %w", name, notSupported(err))
	}
	return loaded{coll: coll, prog: coll.Programs[name]}, nil
}

// step builds an Attempt that loads program name from spec, attaches it
// with attach, and verifies through opts.Verify. The winner's collection
// is stored in *won.
func step(mech string, spec *ebpf.CollectionSpec, name string, opts *Options, edit func(*ebpf.ProgramSpec),
	attach func(*ebpf.Program) (io.Closer, error), won **ebpf.Collection) Attempt {
	var cur *ebpf.Collection
	a := Attempt{
		Mechanism: mech,
		Attach: func() (io.Closer, error) {
			l, err := loadOne(spec, name, opts.Collection, edit)
			if err != nil {
				return nil, err
			}
			c, err := attach(l.prog)
			if err != nil {
				l.coll.Close()
				return nil, notSupported(err)
			}
			cur = l.coll
			*won = l.coll
			return closers{closeFunc(func() error { l.coll.Close(); return nil }), c}, nil
		},
	}
	if opts.Verify != nil {
		a.Verify = func() error { return opts.Verify(mech, cur) }
	}
	return a
}

// run runs attempts, records the Result (see Recording) and wraps the
// outcome into an Attachment.
func run(rec Recording, won **ebpf.Collection, attempts ...Attempt) (*Attachment, error) {
	c, r, err := Chain(attempts...)
	rec.record(r)
	if err != nil {
		return &Attachment{Result: r}, err
	}
	return &Attachment{Result: r, Collection: *won, closer: c}, nil
}

func orDefault(o *Options) *Options {
	if o == nil {
		return &Options{}
	}
	return o
}
