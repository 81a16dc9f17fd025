package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/bpfmatrix/bpfmatrix/kernels"
)

const kernelsUsage = `Usage:
  bpfmatrix kernels list [flags]             catalog, pinned release, package and cache state
  bpfmatrix kernels pull [flags] [NAME...]   download, verify and cache (default: the default matrix)
  bpfmatrix kernels update [flags] [NAME...] resolve the newest package again and re-pin it

Kernels come from the Debian mirror of this machine's apt configuration
(override with --mirror or BPFMATRIX_DEBIAN_MIRROR). The first pull of a
kernel pins its packages (version and SHA256) in the lock file; later runs
use exactly those until "kernels update".

Flags:
`

func kernelsCmd(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, kernelsUsage)
		return fmt.Errorf("%w: kernels needs a subcommand (list, pull, update)", errUsage)
	}
	sub := args[0]
	fs := flag.NewFlagSet("kernels "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeFlags
	sf.register(fs)
	all := fs.Bool("all", false, "with pull or update: every kernel of the catalog, not only the default matrix")
	fs.Usage = func() { fmt.Fprint(stderr, kernelsUsage); fs.PrintDefaults() }
	if err := fs.Parse(args[1:]); err != nil {
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
	if fs.NArg() > 0 {
		var err error
		if specs, err = cat.Lookup(fs.Args()); err != nil {
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
	}
	fmt.Fprint(stderr, kernelsUsage)
	return fmt.Errorf("%w: unknown kernels subcommand %q (list, pull, update)", errUsage, sub)
}

func packageNames(k *kernels.Kernel) string {
	var names []string
	for _, p := range k.Packages {
		names = append(names, p.Name+"="+p.Version)
	}
	return strings.Join(names, ",")
}
