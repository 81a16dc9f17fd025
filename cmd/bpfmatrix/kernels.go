package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
	"github.com/bpfmatrix/bpfmatrix/harness/plan"
	"github.com/bpfmatrix/bpfmatrix/harness/userconfig"
	"github.com/bpfmatrix/bpfmatrix/kernels"
	"github.com/bpfmatrix/bpfmatrix/kernels/apt"
	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
)

const kernelsUsage = `Usage:
  bpfmatrix kernels list [flags]             catalog, pinned release, package and cache state
  bpfmatrix kernels list --available [flags] every series, arch and flavour the Debian mirror offers
  bpfmatrix kernels pull [flags] [NAME...]   download, verify and cache (default: the default matrix)
  bpfmatrix kernels update [flags] [NAME...] resolve the newest package (or tag) again and re-pin it
  bpfmatrix kernels show [flags] NAME...     what the expectation model expects of each test on that kernel, and why

A NAME is a catalog entry (debian-6.18) or a source reference:
  oci:REGISTRY/REPO:TAG[,arch=arm64][,config=FILE][,name=NAME]   e.g. oci:ghcr.io/cilium/ci-kernels:6.6
  file:/path/to/bzImage[,modules=DIR][,config=FILE][,name=NAME]

Debian kernels come from the mirror of this machine's apt configuration
(override with --mirror or BPFMATRIX_DEBIAN_MIRROR; the security archive with
BPFMATRIX_DEBIAN_SECURITY_MIRROR), Ubuntu kernels from BPFMATRIX_UBUNTU_MIRROR,
OCI images with the Docker configuration's credentials. The first pull of a
kernel pins its packages (version and SHA256) or its image's manifest digest
in the lock file; later runs use exactly those until "kernels update".

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
	available := fs.Bool("available", false, "with list: what the Debian mirror offers (fetches every suite's index)")
	accel := fs.String("accel", "tcg", "with show: the accelerator to assume (kvm or tcg): it decides whether a PMU is there")
	configFile := fs.String("config", "", "with show: explain the rules of this bpfmatrix.yaml `FILE` instead of the built-in suites' model")
	rest := args[1:]
	if sub == "-h" || sub == "-help" || sub == "--help" || sub == "help" {
		rest = []string{"-h"} // usage and flags, exit 0
	}
	names, err := parseInterspersed(fs, rest)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	cat := catalog.Default()
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
		if *available {
			return listAvailable(ctx, stdout, stderr, &sf)
		}
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
	case "pull", "update":
		store, err := sf.open(stderr)
		if err != nil {
			return err
		}
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
				if sub == "update" {
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
					return errInterrupted
				}
				errs = append(errs, fmt.Errorf("%s: %w", s.Name, err))
				fmt.Fprintf(stderr, "%s: %v\n", s.Name, err)
				continue
			}
			change := ""
			if old, ok := lock.Kernels[s.Name]; sub == "update" && ok && old.Release != k.Release {
				change = "\t(was " + old.Release + ")"
			}
			fmt.Fprintf(stdout, "%s\t%s\t%s\t%s%s\n", k.Name, k.Release, packageNames(k), k.Dir, change)
		}
		return errors.Join(errs...)
	case "show":
		if len(names) == 0 {
			return fmt.Errorf("%w: kernels show needs kernel names (see `bpfmatrix kernels list`)", errUsage)
		}
		if *accel != "kvm" && *accel != "tcg" {
			return fmt.Errorf("%w: --accel %q: kvm or tcg", errUsage, *accel)
		}
		model, title := plan.DefaultModel, "the built-in suites"
		if *configFile != "" {
			project, err := userconfig.Load(*configFile)
			if err != nil {
				return fmt.Errorf("%w: %v", errUsage, err)
			}
			model, title = project.Model(), project.Path
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
			if k.Config == "" {
				nc := *k
				nc.Config = os.DevNull // no config: every option absent
				k = &nc
			}
			if err := showKernel(stdout, k, *accel, model, title); err != nil {
				return err
			}
		}
		return nil
	}
	fmt.Fprint(stderr, kernelsUsage)
	return fmt.Errorf("%w: unknown kernels subcommand %q (list, pull, update, show)", errUsage, sub)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// listAvailable prints every kernel the Debian mirror offers, newest
// release per series, arch, flavour and suite.
func listAvailable(ctx context.Context, stdout, stderr io.Writer, sf *storeFlags) error {
	store, err := sf.open(nil)
	if err != nil {
		return err
	}
	offers, err := store.Available(ctx, apt.AvailableOptions{Progress: func(suite, arch string, done, total int) {
		fmt.Fprintf(stderr, "\rreading package indexes: %d/%d (%s/%s)\x1b[K", done, total, suite, arch)
		if done == total {
			fmt.Fprintln(stderr)
		}
	}})
	if ctx.Err() != nil {
		return errInterrupted
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

// showKernel prints the facts the expectation model sees for k and, per
// boot profile, what it expects of every built-in test and why.
func showKernel(w io.Writer, k *kernels.Kernel, accel string, model expect.Model, title string) error {
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
