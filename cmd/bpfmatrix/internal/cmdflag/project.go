package cmdflag

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/bpfmatrix/bpfmatrix/harness/userconfig"
)

// Project are the settings a project's bpfmatrix.yaml gives run,
// test, exec and shell, each overridden by its flag when the flag is set.
type Project struct {
	// Kernels, Profiles and Modules are the command's --kernels (or
	// --kernel), --profiles and --modules; nil if it has none.
	Kernels, Profiles, Modules *string
	// Include and Env are its --include and --env; the file's entries
	// come first.
	Include *List
	Env     *List
}

// LoadProject reads the bpfmatrix.yaml of the Go module of dir (nil, nil
// if there is none) and fills in each flag of p that the command line
// did not set. An invalid file is a usage error naming its line.
func LoadProject(fs *flag.FlagSet, dir string, p Project) (*userconfig.Config, error) {
	path := userconfig.Find(dir)
	if path == "" {
		return nil, nil
	}
	cfg, err := userconfig.Load(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	fill := func(name string, dst *string, values []string) {
		if dst != nil && fs.Lookup(name) != nil && !set[name] && len(values) > 0 {
			*dst = strings.Join(values, ",")
		}
	}
	fill("kernels", p.Kernels, cfg.Kernels)
	fill("kernel", p.Kernels, cfg.Kernels[:min(len(cfg.Kernels), 1)])
	fill("profiles", p.Profiles, cfg.Profiles)
	if p.Modules != nil && len(cfg.Modules) > 0 {
		*p.Modules = strings.Join(append(SplitList(*p.Modules), cfg.Modules...), ",")
	}
	if p.Include != nil {
		*p.Include = append(append(List(nil), cfg.Includes...), *p.Include...)
	}
	if p.Env != nil {
		*p.Env = append(append(List(nil), cfg.Env...), *p.Env...) // a flag's KEY=VALUE comes later and wins
	}
	return cfg, nil
}

// WorkDir is the working directory, for finding the project's file.
func WorkDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	return wd
}
