package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/bpfmatrix/bpfmatrix/harness/userconfig"
)

// projectFlags are the settings a project's bpfmatrix.yaml gives run,
// test, exec and shell, each overridden by its flag when the flag is set.
type projectFlags struct {
	kernels, profiles, modules *string
	include                    *listFlag
	env                        *listFlag
}

// loadProject reads the bpfmatrix.yaml of the Go module of dir (nil, nil
// if there is none) and fills in each flag of p that the command line
// did not set. An invalid file is a usage error naming its line.
func loadProject(fs *flag.FlagSet, dir string, p projectFlags) (*userconfig.Config, error) {
	path := userconfig.Find(dir)
	if path == "" {
		return nil, nil
	}
	cfg, err := userconfig.Load(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	fill := func(name string, dst *string, values []string) {
		if dst != nil && fs.Lookup(name) != nil && !set[name] && len(values) > 0 {
			*dst = strings.Join(values, ",")
		}
	}
	fill("kernels", p.kernels, cfg.Kernels)
	fill("kernel", p.kernels, cfg.Kernels[:min(len(cfg.Kernels), 1)])
	fill("profiles", p.profiles, cfg.Profiles)
	if p.modules != nil && len(cfg.Modules) > 0 {
		*p.modules = strings.Join(append(splitList(*p.modules), cfg.Modules...), ",")
	}
	if p.include != nil {
		*p.include = append(append(listFlag(nil), cfg.Includes...), *p.include...)
	}
	if p.env != nil {
		*p.env = append(append(listFlag(nil), cfg.Env...), *p.env...) // a flag's KEY=VALUE comes later and wins
	}
	return cfg, nil
}

// workDir is the working directory, for finding the project's file.
func workDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	return wd
}
