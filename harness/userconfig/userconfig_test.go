package userconfig

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

const example = `# the example of the package doc
kernels: [debian-5.10, debian-6.1]
profiles: [default]
includes: [/usr/bin/ip]
env: [LEVEL=2]
modules: veth
rules:
  - test: probe/TestFentryPath
    cases:
      - when: trampoline
        outcome: pass
        mechanism: fentry
      - outcome: pass
        mechanism: kprobe
        why: no trampoline
  - test: tc/TestTCX
    cases:
      - when: version < 6.6
        outcome: unsupported
      - outcome: pass
`

func TestParse(t *testing.T) {
	c, err := Parse("bpfmatrix.yaml", []byte(example))
	require.NoError(t, err)
	assert.Equal(t, []string{"debian-5.10", "debian-6.1"}, c.Kernels)
	assert.Equal(t, []string{"default"}, c.Profiles)
	assert.Equal(t, []string{"/usr/bin/ip"}, c.Includes)
	assert.Equal(t, []string{"LEVEL=2"}, c.Env)
	assert.Equal(t, []string{"veth"}, c.Modules, "a single item stands for a list")
	require.Len(t, c.Rules, 2)
	assert.Equal(t, 8, c.Rules[0].Line)

	m := c.Model()
	arm61 := expect.Facts{Arch: "arm64", Major: 6, Minor: 1, Config: map[string]string{"CONFIG_BPF": "y"}}
	x612 := expect.Facts{Arch: "amd64", Major: 6, Minor: 12, Config: map[string]string{"CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS": "y"}}
	for _, tc := range []struct {
		test string
		f    expect.Facts
		want results.Expectation
	}{
		{"probe/TestFentryPath", x612, results.Expectation{Outcome: results.Pass, Mechanism: "fentry", Rule: "where trampoline", Source: "bpfmatrix.yaml:10: trampoline"}},
		{"probe/TestFentryPath", arm61, results.Expectation{Outcome: results.Pass, Mechanism: "kprobe", Rule: "no trampoline", Source: "bpfmatrix.yaml:13"}},
		{"tc/TestTCX", arm61, results.Expectation{Outcome: results.Unsupported, Rule: "where version < 6.6", Source: "bpfmatrix.yaml:18: version < 6.6"}},
		{"tc/TestTCX", x612, results.Expectation{Outcome: results.Pass, Rule: "as bpfmatrix.yaml says", Source: "bpfmatrix.yaml:20"}},
	} {
		got := m.Expect(tc.test, tc.f)
		require.NotNil(t, got, tc.test)
		assert.Equal(t, tc.want, *got, "%s on %s %d.%d", tc.test, tc.f.Arch, tc.f.Major, tc.f.Minor)
	}
	assert.Nil(t, m.Expect("probe/TestOther", x612))
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"unknown key", "kernels: [a]\nkernal: [b]\n", `bpfmatrix.yaml:2: invalid bpfmatrix.yaml: unknown key "kernal" in the file (known: kernels, profiles, includes, env, modules, rules, retries, known_flaky)`},
		{"unknown case key", "rules:\n  - test: p/T\n    cases:\n      - outcome: pass\n        mechanizm: x\n", `bpfmatrix.yaml:5: invalid bpfmatrix.yaml: unknown key "mechanizm" in a case`},
		{"bad condition", "rules:\n  - test: p/T\n    cases:\n      - when: version ~ 6\n        outcome: pass\n", `bpfmatrix.yaml:4: invalid bpfmatrix.yaml: when "version ~ 6": "version ~ 6": want version OP VALUE`},
		{"unknown feature", "rules:\n  - test: p/T\n    cases:\n      - when: trampolin\n        outcome: pass\n", `unknown condition "trampolin"`},
		{"bad outcome", "rules:\n  - test: p/T\n    cases:\n      - outcome: passed\n", `bpfmatrix.yaml:4: invalid bpfmatrix.yaml: outcome "passed"`},
		{"no outcome", "rules:\n  - test: p/T\n    cases:\n      - when: tcx\n", `bpfmatrix.yaml:4: invalid bpfmatrix.yaml: a case needs an outcome`},
		{"test without package", "rules:\n  - test: TestX\n    cases:\n      - outcome: pass\n", `bpfmatrix.yaml:2: invalid bpfmatrix.yaml: test "TestX" must be PACKAGE/TestName`},
		{"duplicate rule", "rules:\n  - test: p/T\n    cases: [{outcome: pass}]\n  - test: p/T\n    cases: [{outcome: pass}]\n", `bpfmatrix.yaml:4: invalid bpfmatrix.yaml: a second rule for p/T (the first is on line 2)`},
		{"kernels not a list", "kernels: {a: b}\n", `bpfmatrix.yaml:1: invalid bpfmatrix.yaml: kernels must be a list of strings, not a mapping`},
		{"unknown profile", "profiles: [nope]\n", `bpfmatrix.yaml:1: invalid bpfmatrix.yaml: profiles:`},
		{"not yaml", "kernels: [a\n", `bpfmatrix.yaml:1: invalid bpfmatrix.yaml: did not find expected`},
		{"unquoted colon", "rules:\n  - test: p/T\n    cases:\n      - outcome: pass\n        mechanism: kprobe (fallback: fentry\n", `bpfmatrix.yaml:5: invalid bpfmatrix.yaml: mapping values are not allowed in this context (quote a value that holds ": ")`},
		{"bad arch", "rules:\n  - test: p/T\n    cases: [{when: arch == x86, outcome: pass}]\n", `arch is amd64 or arm64`},
		{"impossible condition", "rules:\n  - test: p/T\n    cases:\n      - when: version < 5.4 and version >= 6.1\n        outcome: unsupported\n      - outcome: pass\n",
			`bpfmatrix.yaml:4: invalid bpfmatrix.yaml: when "version < 5.4 and version >= 6.1": no kernel can satisfy it (version < 5.4 and version >= 6.1 exclude each other): fix the condition or drop the case`},
		{"unreachable case", "rules:\n  - test: p/T\n    cases:\n      - outcome: pass\n      - when: version < 6.6\n        outcome: unsupported\n",
			`bpfmatrix.yaml:2: invalid bpfmatrix.yaml: rule p/T: the case on line 4 has no when, so it always applies and the cases after it (line 5) never do: put it last`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("bpfmatrix.yaml", []byte(tc.in))
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrInvalid), "%v wraps ErrInvalid", err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestUnsatisfiable(t *testing.T) {
	for _, tc := range []struct {
		cond string
		why  string // "" if some kernel can satisfy it
	}{
		{"version < 6.6", ""},
		{"version >= 6.6 and arch == arm64", ""},
		{"version < 5.4 and version >= 6.1", "version < 5.4 and version >= 6.1 exclude each other"},
		{"version == 6.1 and version != 6.1", "exclude each other"},
		{"arch == amd64 and arch == arm64", "arch == amd64 and arch == arm64 exclude each other"},
		{"arch == amd64 and arch != arm64", ""},
		{"trampoline and not trampoline", `"trampoline" and "not trampoline" exclude each other`},
		{"lsm bpf and !lsm bpf", "exclude each other"},
		{"lsm bpf and not lsm selinux", ""},
		{"CONFIG_FOO and CONFIG_FOO=m", `"CONFIG_FOO" and "CONFIG_FOO=m" exclude each other`},
		{"CONFIG_FOO=m and not CONFIG_FOO", ""},
		{"CONFIG_FOO and not CONFIG_FOO=y", "exclude each other"},
		{"CONFIG_A and not CONFIG_B", ""},
		{"tcx and version < 6.6", ""}, // the model would say no, but the file cannot know the kernel's config
	} {
		_, err := ParseCondition(tc.cond)
		require.NoError(t, err, tc.cond)
		got := Unsatisfiable(tc.cond)
		if tc.why == "" {
			assert.Empty(t, got, "%q", tc.cond)
		} else {
			assert.Contains(t, got, tc.why, "%q", tc.cond)
		}
	}
}

func TestParseReportsEveryError(t *testing.T) {
	_, err := Parse("b.yaml", []byte("kernal: [a]\nmodule: [b]\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `b.yaml:1: invalid bpfmatrix.yaml: unknown key "kernal"`)
	assert.Contains(t, err.Error(), `b.yaml:2: invalid bpfmatrix.yaml: unknown key "module"`)
}

func TestParseEmpty(t *testing.T) {
	c, err := Parse("bpfmatrix.yaml", nil)
	require.NoError(t, err)
	assert.Empty(t, c.Rules)
	assert.Empty(t, c.Model())
}

func TestCondition(t *testing.T) {
	f := expect.Facts{Arch: "arm64", Major: 6, Minor: 1, Config: map[string]string{"CONFIG_BPF_LSM": "y", "CONFIG_VETH": "m"}, LSM: []string{"lockdown", "bpf"}}
	for _, tc := range []struct {
		cond string
		want bool
	}{
		{"", true},
		{"version < 6.6", true}, {"version >= 6.1", true}, {"version > 6.1", false}, {"version == 6.1", true}, {"version != 6.1", false},
		{"version <= 5.10", false},
		{"arch == arm64", true}, {"arch != arm64", false},
		{"CONFIG_BPF_LSM", true}, {"CONFIG_VETH", false}, {"CONFIG_VETH=m", true}, {"CONFIG_MISSING=n", true}, {"not CONFIG_MISSING", true},
		{"lsm bpf", true}, {"lsm selinux", false}, {"!lsm selinux", true},
		{"trampoline", false}, {"not trampoline", true},
		{"arch == arm64 and version < 6.4", true}, {"arch == arm64 && version >= 6.4", false},
		{"config", true},
	} {
		c, err := ParseCondition(tc.cond)
		require.NoError(t, err, tc.cond)
		got := c == nil || c(f)
		assert.Equal(t, tc.want, got, "%q", tc.cond)
	}
}

func TestFindAndUnknown(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/x\n"), 0o644))
	sub := filepath.Join(dir, "pkg", "sub")
	require.NoError(t, os.MkdirAll(sub, 0o755))
	assert.Equal(t, "", Find(sub), "no bpfmatrix.yaml in the module")
	path := filepath.Join(dir, FileName)
	require.NoError(t, os.WriteFile(path, []byte(example), 0o644))
	assert.Equal(t, path, Find(sub), "found at the module's root")

	c, err := Load(path)
	require.NoError(t, err)
	assert.Equal(t, []string{path + ":16: rule for tc/TestTCX, but no such test ran (a typo, or a test that -run left out?)"},
		c.Unknown(map[string]bool{"probe/TestFentryPath": true}))
}

// TestParseVerdictKeys: the file carries --retries and the known-flaky
// list, checked like the flags' values.
func TestParseVerdictKeys(t *testing.T) {
	c, err := Parse("bpfmatrix.yaml", []byte("retries: 2\nknown_flaky:\n  - {test: tc/TestTCX, kernels: [debian-5.10], reason: the veth race}\n"))
	require.NoError(t, err)
	assert.Equal(t, 2, c.Retries)
	require.Len(t, c.KnownFlaky, 1)
	assert.Equal(t, "tc/TestTCX", c.KnownFlaky[0].Test)
	assert.Equal(t, "the veth race", c.KnownFlaky[0].Reason)

	for in, want := range map[string]string{
		"retries: -1\n":                          "bpfmatrix.yaml:1",
		"retries: many\n":                        "retries: want a whole number",
		"known_flaky:\n  - {test: tc/TestTCX}\n": "needs a test and a reason",
		"known_flaky: 3\n":                       "known_flaky",
	} {
		_, err := Parse("bpfmatrix.yaml", []byte(in))
		assert.ErrorContains(t, err, want, "Parse(%q)", in)
	}
}
