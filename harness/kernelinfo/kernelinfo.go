// Package kernelinfo is what bpfmatrix kernels prints: the catalog with
// each kernel's pinned release and cache state, the kernels a Debian
// mirror offers, what a pull or an update pinned, and what the
// expectation model expects of every test on a kernel, and why. The
// command parses the flags and opens the store; this package does the
// rest.
package kernelinfo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
	"github.com/bpfmatrix/bpfmatrix/kernels"
	"github.com/bpfmatrix/bpfmatrix/kernels/apt"
	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
)

// List prints the catalog of cat, and the kernels pinned in the lock file
// from the command line, with each one's pinned release, packages and
// whether store has it cached.
func List(w io.Writer, store *kernels.Store, cat *catalog.Catalog) error {
	lock, err := store.LoadLock()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDEFAULT\tARCH\tFLAVOUR\tSUITE\tRELEASE\tPACKAGE\tCACHED")
	listed := cat.All()
	var pinned []string
	for name := range lock.Kernels {
		pinned = append(pinned, name)
	}
	sort.Strings(pinned)
	for _, name := range pinned {
		if _, err := cat.Lookup([]string{name}); err == nil {
			continue
		}
		if s, ok := lock.Kernels[name].OCISpec(name); ok {
			listed = append(listed, s) // pinned from the command line
		}
	}
	for _, s := range listed {
		release, pkg, cached := "-", "-", "no"
		if k, ok := store.Cached(s); ok {
			release, cached = k.Release, "yes"
			pkg = packageNames(k)
		} else if e, ok := lock.Kernels[s.Name]; ok {
			release = e.Release
			pkg = "(pinned, not cached)"
		}
		def := ""
		if s.Default {
			def = "yes"
		}
		suite := s.Suite
		if s.Security != "" {
			suite += "+security"
		}
		if s.SourceKind() != catalog.SourceAPT {
			suite = s.SourceKind() + ":" + s.Ref
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, def, s.Arch, orDash(s.Flavour), suite, release, pkg, cached)
	}
	return tw.Flush()
}

// Pull downloads, verifies and caches specs (with update, resolves the
// newest package or tag again and re-pins it) and prints a line per
// kernel on stdout, each failure on stderr. Interrupted, it returns
// ctx.Err().
func Pull(ctx context.Context, stdout, stderr io.Writer, store *kernels.Store, specs []catalog.Spec, update bool) error {
	var errs []error
	lock, _ := store.LoadLock()
	// All at once: the store reads the indexes concurrently and
	// limits the downloads; the lines come out in the order asked.
	type pulled struct {
		k   *kernels.Kernel
		err error
	}
	res := make([]pulled, len(specs))
	var wg sync.WaitGroup
	for i, s := range specs {
		wg.Go(func() {
			if update {
				ks, err := store.Update(ctx, []catalog.Spec{s})
				if len(ks) > 0 {
					res[i].k = ks[0]
				}
				res[i].err = err
				return
			}
			res[i].k, res[i].err = store.Pull(ctx, s)
		})
	}
	wg.Wait()
	for i, s := range specs {
		k, err := res[i].k, res[i].err
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			errs = append(errs, fmt.Errorf("%s: %w", s.Name, err))
			fmt.Fprintf(stderr, "%s: %v\n", s.Name, err)
			continue
		}
		change := ""
		if old, ok := lock.Kernels[s.Name]; update && ok && old.Release != k.Release {
			change = "\t(was " + old.Release + ")"
		}
		fmt.Fprintf(stdout, "%s\t%s\t%s\t%s%s\n", k.Name, k.Release, packageNames(k), k.Dir, change)
	}
	return errors.Join(errs...)
}

// Show pulls each of specs and prints what the expectation model expects
// of every test on it under every boot profile, and why: model's rules,
// titled title, on a machine with accelerator accel (kvm or tcg).
func Show(ctx context.Context, w io.Writer, store *kernels.Store, specs []catalog.Spec, accel string, model expect.Model, title string) error {
	for _, s := range specs {
		k, err := store.Pull(ctx, s)
		if err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
		if k.Config == "" {
			nc := *k
			nc.Config = os.DevNull // no config: every option absent
			k = &nc
		}
		if err := show(w, k, accel, model, title); err != nil {
			return err
		}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Available prints every kernel the Debian mirror of store offers, newest
// release per series, arch, flavour and suite, with the progress of
// reading the indexes on stderr. Interrupted, it returns ctx.Err().
func Available(ctx context.Context, stdout, stderr io.Writer, store *kernels.Store) error {
	offers, err := store.Available(ctx, apt.AvailableOptions{Progress: func(suite, arch string, done, total int) {
		fmt.Fprintf(stderr, "\rreading package indexes: %d/%d (%s/%s)\x1b[K", done, total, suite, arch)
		if done == total {
			fmt.Fprintln(stderr)
		}
	}})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SERIES\tARCH\tFLAVOUR\tSUITE\tRELEASE\tVERSION\tCATALOG")
	for _, o := range offers {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", o.Series, o.Arch, o.Flavour, o.Suite, o.Release, o.Version, orDash(strings.Join(o.Catalog, ",")))
	}
	if ferr := tw.Flush(); ferr != nil {
		return ferr
	}
	if err != nil {
		return fmt.Errorf("some indexes could not be read: %w", err)
	}
	return nil
}

func packageNames(k *kernels.Kernel) string {
	var names []string
	for _, p := range k.Packages {
		names = append(names, p.Name+"="+p.Version)
	}
	return strings.Join(names, ",")
}

// modelOptions are the config options the expectation model reads.
var modelOptions = []string{"DYNAMIC_FTRACE_WITH_DIRECT_CALLS", "BPF_LSM", "LSM", "DEBUG_INFO_BTF_MODULES", "FPROBE"}

// show prints the facts the expectation model sees for k and, per
// boot profile, what it expects of every built-in test and why.
func show(w io.Writer, k *kernels.Kernel, accel string, model expect.Model, title string) error {
	config, err := expect.ReadConfig(k.Config)
	if err != nil {
		return fmt.Errorf("%s: %w", k.Name, err)
	}
	major, minor, err := expect.ParseRelease(k.Release)
	if err != nil {
		return fmt.Errorf("%s: %w", k.Name, err)
	}
	from := k.Suite
	if k.Source == catalog.SourceOCI || k.Source == catalog.SourceFile {
		from = k.Source + ":" + k.Ref
	}
	fmt.Fprintf(w, "%s: %s (%s, %s, %s)\n", k.Name, k.Release, k.Arch, from, packageNames(k))
	fmt.Fprintf(w, "  version %d.%d, accelerator %s (assumed; --accel)\n", major, minor, accel)
	if k.NoConfig != "" {
		fmt.Fprintf(w, "  NO CONFIG: %s; every option below reads as absent, so the rules that depend on one are guesses\n", k.NoConfig)
	} else if k.ConfigSource != "" && k.ConfigSource != "package" {
		fmt.Fprintf(w, "  config from %s\n", k.ConfigSource)
	}
	for _, o := range modelOptions {
		v := config["CONFIG_"+o]
		if v == "" {
			v = "(absent)"
		}
		fmt.Fprintf(w, "  CONFIG_%s=%s\n", o, v)
	}
	for _, p := range expect.Profiles {
		args := p.Args(config)
		if p.Name != expect.DefaultProfile.Name && len(args) == 0 {
			fmt.Fprintf(w, "\n  profile %s: boots like default on this kernel, not run separately\n", p.Name)
			continue
		}
		f := expect.Facts{Arch: k.Arch, Major: major, Minor: minor, Config: config, LSM: expect.BootLSM(config, args), Accel: accel, ModuleTree: k.ModulesDir != ""}
		fmt.Fprintf(w, "\n  profile %s (%s): command line %q, active LSMs %s; rules of %s\n", p.Name, p.Description, strings.Join(args, " "), strings.Join(f.LSM, ","), title)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, r := range model {
			e := model.Expect(r.Test, f)
			if e == nil {
				continue
			}
			mech := ""
			if e.Mechanism != "" {
				mech = "via " + e.Mechanism
			}
			fmt.Fprintf(tw, "    %s\t%s\t%s\t%s [%s]\n", r.Test, e.Outcome, mech, e.Rule, e.Source)
		}
		tw.Flush()
	}
	fmt.Fprintln(w)
	return nil
}
