package cmdflag

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func projectModule(t *testing.T, yaml string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/p\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bpfmatrix.yaml"), []byte(yaml), 0o644))
	return dir
}

func TestLoadProject(t *testing.T) {
	dir := projectModule(t, "kernels: [debian-5.10, debian-6.1]\nprofiles: [default]\nmodules: [veth]\nincludes: [/bin/ip]\nenv: [A=1]\n")
	for _, tc := range []struct {
		name    string
		args    []string
		kernels string
		mods    string
		include List
		env     List
	}{
		{"the file fills unset flags", nil, "debian-5.10,debian-6.1", "veth", List{"/bin/ip"}, List{"A=1"}},
		{"flags win; lists add up", []string{"--kernels", "debian-7.2", "--modules", "cls_bpf", "--include", "/x", "--env", "A=2"},
			"debian-7.2", "cls_bpf,veth", List{"/bin/ip", "/x"}, List{"A=1", "A=2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			kernels := fs.String("kernels", "", "")
			profiles := fs.String("profiles", "default,lsm-bpf", "")
			modules := fs.String("modules", "", "")
			var include, env List
			fs.Var(&include, "include", "")
			fs.Var(&env, "env", "")
			require.NoError(t, fs.Parse(tc.args))
			cfg, err := LoadProject(fs, filepath.Join(dir), Project{Kernels: kernels, Profiles: profiles, Modules: modules, Include: &include, Env: &env})
			require.NoError(t, err)
			require.NotNil(t, cfg)
			assert.Equal(t, tc.kernels, *kernels)
			assert.Equal(t, "default", *profiles)
			assert.Equal(t, tc.mods, *modules)
			assert.Equal(t, tc.include, include)
			assert.Equal(t, tc.env, env)
		})
	}
}

func TestLoadProjectShellTakesFirstKernel(t *testing.T) {
	dir := projectModule(t, "kernels: [debian-5.10, debian-6.1]\n")
	fs := flag.NewFlagSet("shell", flag.ContinueOnError)
	kernel := fs.String("kernel", "", "")
	_, err := LoadProject(fs, dir, Project{Kernels: kernel})
	require.NoError(t, err)
	assert.Equal(t, "debian-5.10", *kernel)
}

func TestLoadProjectInvalid(t *testing.T) {
	dir := projectModule(t, "kernels: [a]\nkernal: [b]\n")
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	_, err := LoadProject(fs, dir, Project{})
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrUsage), "a bad file is a usage error (exit 2)")
	assert.Contains(t, err.Error(), `bpfmatrix.yaml:2: invalid bpfmatrix.yaml: unknown key "kernal"`)
}

func TestLoadProjectNone(t *testing.T) {
	dir := t.TempDir()
	cfg, err := LoadProject(flag.NewFlagSet("x", flag.ContinueOnError), dir, Project{})
	assert.NoError(t, err)
	assert.Nil(t, cfg, "no module, no file")
}
