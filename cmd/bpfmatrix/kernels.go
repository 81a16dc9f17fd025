package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/bpfmatrix/bpfmatrix/cmd/bpfmatrix/internal/cmdflag"
	"github.com/bpfmatrix/bpfmatrix/harness/kernelinfo"
	"github.com/bpfmatrix/bpfmatrix/harness/plan"
	"github.com/bpfmatrix/bpfmatrix/harness/userconfig"
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
	fs := cmdflag.NewFlagSet("kernels "+sub, kernelsUsage, stderr)
	var sf cmdflag.Store
	sf.Register(fs)
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
		store, err := sf.Open(nil)
		if err != nil {
			return err
		}
		if *available {
			err = kernelinfo.Available(ctx, stdout, stderr, store)
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				return errInterrupted
			}
			return err
		}
		return kernelinfo.List(stdout, store, cat)
	case "pull", "update":
		store, err := sf.Open(stderr)
		if err != nil {
			return err
		}
		err = kernelinfo.Pull(ctx, stdout, stderr, store, specs, sub == "update")
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return errInterrupted
		}
		return err
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
		store, err := sf.Open(stderr)
		if err != nil {
			return err
		}
		return kernelinfo.Show(ctx, stdout, store, specs, *accel, model, title)
	}
	fmt.Fprint(stderr, kernelsUsage)
	return fmt.Errorf("%w: unknown kernels subcommand %q (list, pull, update, show)", errUsage, sub)
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
