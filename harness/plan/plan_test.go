package plan

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
)

func TestPlanColumns(t *testing.T) {
	specs := []catalog.Spec{{Name: "debian-5.10", Arch: "amd64"}, {Name: "debian-6.12", Arch: "amd64"}}
	p, err := New(specs, expect.Profiles, Builtin[:1], "", nil)
	require.NoError(t, err)
	var names []string
	for i, c := range p.Columns {
		assert.Equal(t, i, c.Index, "columns are numbered in matrix order")
		names = append(names, c.Name())
	}
	assert.Equal(t, []string{"debian-5.10", "debian-5.10+lsm-bpf", "debian-6.12", "debian-6.12+lsm-bpf"}, names)

	withoutBPF := map[string]string{"CONFIG_BPF_LSM": "y", "CONFIG_LSM": "lockdown,yama"}
	withBPF := map[string]string{"CONFIG_BPF_LSM": "y", "CONFIG_LSM": "lockdown,yama,bpf"}
	args, ok := p.Resolve(p.Columns[1], withoutBPF)
	assert.True(t, ok)
	assert.Equal(t, []string{"lsm=lockdown,yama,bpf"}, args)
	_, ok = p.Resolve(p.Columns[3], withBPF)
	assert.False(t, ok, "a profile that boots the kernel like the default one does not run")
	args, ok = p.Resolve(p.Columns[2], withBPF)
	assert.True(t, ok)
	assert.Empty(t, args)

	var b strings.Builder
	require.NoError(t, p.Write(&b, func(s catalog.Spec) (map[string]string, bool) {
		if s.Name == "debian-6.12" {
			return withBPF, true
		}
		return nil, false
	}))
	out := b.String()
	assert.Contains(t, out, "debian-5.10+lsm-bpf  amd64  lsm-bpf  (known once the kernel is fetched)")
	assert.NotContains(t, out, "debian-6.12+lsm-bpf", "dropped once the config is known")
	assert.Contains(t, out, "3 column(s), 2 kernel(s) x 2 profile(s)")

	_, err = New(nil, nil, Builtin, "", nil)
	assert.True(t, errors.Is(err, ErrEmpty), "%v", err)
	_, err = New(specs, nil, Builtin, "TestK(", nil)
	assert.ErrorContains(t, err, "is not a valid test selection")
	p, err = New(specs, nil, Builtin, "", nil)
	require.NoError(t, err)
	assert.Len(t, p.Columns, 2, "no profiles: the default one")
}
