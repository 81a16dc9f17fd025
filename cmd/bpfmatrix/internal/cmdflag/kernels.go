package cmdflag

import (
	"fmt"
	"strings"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
	"github.com/bpfmatrix/bpfmatrix/harness/plan"
	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
)

// SelectKernels returns the kernels of a --kernels value: catalog names
// and references, comma-separated; "" is the default matrix.
func SelectKernels(list string) ([]catalog.Spec, error) {
	cat := catalog.Default()
	if list == "" {
		return cat.Defaults(), nil
	}
	return cat.Lookup(SplitList(list))
}

// ShardKernels returns the kernels of shard ("i/n"; "" is every kernel).
func ShardKernels(specs []catalog.Spec, shard string) ([]catalog.Spec, error) {
	if shard == "" {
		return specs, nil
	}
	sh, err := plan.ParseShard(shard)
	if err != nil {
		return nil, fmt.Errorf("--shard: %w", err)
	}
	out := plan.SelectShard(sh, specs)
	if len(out) == 0 {
		return nil, fmt.Errorf("--shard %s: no kernel falls in this shard (%d kernels, %d shards): use at most %d shards", sh, len(specs), sh.N, len(specs))
	}
	return out, nil
}

// ProfileNames lists the boot profiles, for the help of --profiles.
func ProfileNames() string {
	var names []string
	for _, p := range expect.Profiles {
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}
