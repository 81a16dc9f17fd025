package bpfmatrix_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// action mirrors the parts of action.yml the test checks.
type action struct {
	Inputs map[string]struct {
		Description string `yaml:"description"`
		Default     string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Value string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string       `yaml:"using"`
		Steps []actionStep `yaml:"steps"`
	} `yaml:"runs"`
}

type actionStep struct {
	Name  string            `yaml:"name"`
	ID    string            `yaml:"id"`
	If    string            `yaml:"if"`
	Uses  string            `yaml:"uses"`
	Run   string            `yaml:"run"`
	Shell string            `yaml:"shell"`
	Env   map[string]string `yaml:"env"`
	With  map[string]string `yaml:"with"`
}

func readAction(t *testing.T) (action, string) {
	t.Helper()
	b, err := os.ReadFile("action.yml")
	require.NoError(t, err)
	var a action
	require.NoError(t, yaml.Unmarshal(b, &a))
	return a, string(b)
}

// cliFlags returns the flags that the bpfmatrix subcommand args lists in
// its usage (-h).
func cliFlags(t *testing.T, bin string, args ...string) map[string]bool {
	t.Helper()
	out, err := exec.Command(bin, append(args, "-h")...).CombinedOutput()
	require.NoError(t, err, "%s -h: %s", args, out)
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z][a-z-]*)`).FindAllStringSubmatch(string(out), -1) {
		flags[m[1]] = true
	}
	require.NotEmpty(t, flags, "%s -h lists flags", args)
	return flags
}

// TestAction checks action.yml: a composite action whose inputs are all
// used, whose scripts pass bpfmatrix only flags it has, that installs QEMU
// without recommended packages, caches kernels and images keyed by the
// lock file, writes the step summary and uploads every report.
func TestAction(t *testing.T) {
	a, text := readAction(t)
	assert.Equal(t, "composite", a.Runs.Using)

	bin := filepath.Join(t.TempDir(), "bpfmatrix")
	build := exec.Command("go", "build", "-o", bin, "./cmd/bpfmatrix")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	known := cliFlags(t, bin, "run")
	for f := range cliFlags(t, bin, "report") {
		known[f] = true
	}
	for f := range cliFlags(t, bin, "report", "merge") {
		known[f] = true
	}

	// Every input is used, and everything used is an input.
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`\$\{\{[^}]*\binputs\.([a-z-]+)`).FindAllStringSubmatch(text, -1) {
		used[m[1]] = true
		assert.Contains(t, a.Inputs, m[1], "inputs.%s is declared", m[1])
	}
	for name, in := range a.Inputs {
		assert.True(t, used[name], "input %s is used", name)
		assert.NotEmpty(t, in.Description, "input %s has a description", name)
	}

	steps := map[string]actionStep{}
	for _, s := range a.Runs.Steps {
		if s.Uses != "" {
			steps[strings.Split(s.Uses, "@")[0]] = s
		}
		if s.Run != "" {
			assert.Equal(t, "bash", s.Shell, "step %q: a composite run step names its shell", s.Name)
		}
		// The flags handed to bpfmatrix exist.
		for _, line := range strings.Split(s.Run, "\n") {
			if !strings.Contains(line, `"$bpfmatrix"`) && !strings.Contains(line, "flags") {
				continue
			}
			for _, m := range regexp.MustCompile(`(?:^|[\s(])--([a-z][a-z-]*)`).FindAllStringSubmatch(line, -1) {
				assert.True(t, known[m[1]], "step %q passes --%s, which bpfmatrix does not have", s.Name, m[1])
			}
		}
		// Every variable an input feeds is read by the script.
		for v, val := range s.Env {
			if strings.Contains(val, "inputs.") {
				assert.Regexp(t, `\$\{?`+v+`\b`, s.Run, "step %q reads %s", s.Name, v)
			}
		}
	}
	var runStep actionStep
	for _, s := range a.Runs.Steps {
		if s.ID == "bpfmatrix" {
			runStep = s
		}
	}
	for input, flag := range map[string]string{"kernels": "--kernels", "suites": "--suite", "shard": "--shard", "lock": "--lock"} {
		var v string
		for name, val := range runStep.Env {
			if strings.Contains(val, "inputs."+input+" ") {
				v = name
			}
		}
		require.NotEmpty(t, v, "the run step gets inputs.%s", input)
		assert.Regexp(t, regexp.QuoteMeta(flag)+` "\$`+v+`"`, runStep.Run, "inputs.%s becomes %s", input, flag)
	}

	assert.Regexp(t, `apt-get install -y -q --no-install-recommends qemu-system-x86 qemu-system-arm`, text)
	cache, ok := steps["actions/cache"]
	require.True(t, ok, "uses actions/cache")
	assert.Contains(t, cache.With["key"], "hashFiles(inputs.lock)")
	assert.Contains(t, cache.With["path"], "~/.cache/bpfmatrix/kernels")
	assert.Contains(t, cache.With["path"], "~/.cache/bpfmatrix/initramfs")
	upload, ok := steps["actions/upload-artifact"]
	require.True(t, ok, "uses actions/upload-artifact")
	assert.Equal(t, "always()", upload.If, "uploads even when the run failed")
	for _, out := range []string{"results", "junit", "html", "markdown"} {
		assert.Contains(t, upload.With["path"], "steps.names.outputs."+out)
	}
	assert.Contains(t, text, `>> "$GITHUB_STEP_SUMMARY"`)
	last := a.Runs.Steps[len(a.Runs.Steps)-1]
	assert.Equal(t, "always()", last.If)
	assert.Contains(t, last.Run, "exit", "the action fails after the uploads when bpfmatrix did")
	assert.Contains(t, a.Outputs["exit-code"].Value, "steps.bpfmatrix.outputs.exit-code")
}
