package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
	"github.com/bpfmatrix/bpfmatrix/harness/plan"
	"github.com/bpfmatrix/bpfmatrix/kernels"
)

const kernelsUsage = `Usage:
  bpfmatrix kernels list [flags]             catalog, pinned release, package and cache state
  bpfmatrix kernels pull [flags] [NAME...]   download, verify and cache (default: the default matrix)
  bpfmatrix kernels update [flags] [NAME...] resolve the newest package again and re-pin it
  bpfmatrix kernels show [flags] NAME...     what the expectation model expects of each test on that kernel, and why

Kernels come from the Debian mirror of this machine's apt configuration
(override with --mirror or BPFMATRIX_DEBIAN_MIRROR). The first pull of a
kernel pins its packages (version and SHA256) in the lock file; later runs
use exactly those until "kernels update".

Flags:
`

func kernelsCmd(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, kernelsUsage)
		return fmt.Errorf("%w: kernels needs a subcommand (list, pull, update, show)", errUsage)
	}
	sub := args[0]
	fs := newFlagSet("kernels "+sub, kernelsUsage, stderr)
	var sf storeFlags
	sf.register(fs)
	all := fs.Bool("all", false, "with pull or update: every kernel of the catalog, not only the default matrix")
	accel := fs.String("accel", "tcg", "with show: the accelerator to assume (kvm or tcg): it decides whether a PMU is there")
	names, err := parseInterspersed(fs, args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	cat := kernels.DefaultCatalog()
	specs := cat.Defaults()
	if *all {
		specs = cat.All()
	}
	if len(names) > 0 {
		if specs, err = cat.Lookup(names); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	switch sub {
	case "list":
		store, err := sf.open(nil)
		if err != nil {
			return err
		}
		lock, err := store.LoadLock()
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tDEFAULT\tARCH\tFLAVOUR\tSUITE\tRELEASE\tPACKAGE\tCACHED")
		for _, s := range cat.All() {
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
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, def, s.Arch, s.Flavour, s.Suite, release, pkg, cached)
		}
		return tw.Flush()
	case "pull", "update":
		store, err := sf.open(stderr)
		if err != nil {
			return err
		}
		var errs []error
		for _, s := range specs {
			var k *kernels.Kernel
			if sub == "update" {
				var ks []*kernels.Kernel
				ks, err = store.Update(ctx, []kernels.Spec{s})
				if len(ks) > 0 {
					k = ks[0]
				}
			} else {
				k, err = store.Pull(ctx, s)
			}
			if err != nil {
				if ctx.Err() != nil {
					return errInterrupted
				}
				errs = append(errs, fmt.Errorf("%s: %w", s.Name, err))
				fmt.Fprintf(stderr, "%s: %v\n", s.Name, err)
				continue
			}
			fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\n", k.Name, k.Release, packageNames(k), k.Dir)
		}
		return errors.Join(errs...)
	case "show":
		if len(names) == 0 {
			return fmt.Errorf("%w: kernels show needs kernel names (see `bpfmatrix kernels list`)", errUsage)
		}
		if *accel != "kvm" && *accel != "tcg" {
			return fmt.Errorf("%w: --accel %q: kvm or tcg", errUsage, *accel)
		}
		store, err := sf.open(stderr)
		if err != nil {
			return err
		}
		for _, s := range specs {
			k, err := store.Pull(ctx, s)
			if err != nil {
				return fmt.Errorf("%s: %w", s.Name, err)
			}
			if err := showKernel(stdout, k, *accel); err != nil {
				return err
			}
		}
		return nil
	}
	fmt.Fprint(stderr, kernelsUsage)
	return fmt.Errorf("%w: unknown kernels subcommand %q (list, pull, update, show)", errUsage, sub)
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

// showKernel prints the facts the expectation model sees for k and, per
// boot profile, what it expects of every built-in test and why.
func showKernel(w io.Writer, k *kernels.Kernel, accel string) error {
	config, err := expect.ReadConfig(k.Config)
	if err != nil {
		return fmt.Errorf("%s: %w", k.Name, err)
	}
	major, minor, err := expect.ParseRelease(k.Release)
	if err != nil {
		return fmt.Errorf("%s: %w", k.Name, err)
	}
	fmt.Fprintf(w, "%s: %s (%s, %s, %s)\n", k.Name, k.Release, k.Arch, k.Suite, packageNames(k))
	fmt.Fprintf(w, "  version %d.%d, accelerator %s (assumed; --accel)\n", major, minor, accel)
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
		fmt.Fprintf(w, "\n  profile %s (%s): command line %q, active LSMs %s\n", p.Name, p.Description, strings.Join(args, " "), strings.Join(f.LSM, ","))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, r := range plan.DefaultModel {
			e := plan.DefaultModel.Expect(r.Test, f)
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

// parseInterspersed parses flags that may come before, between or after
// the positional arguments ("kernels pull NAME --mirror URL"), and returns
// the positional ones. A "--" ends flag parsing.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
