// Package userconfig reads a project's bpfmatrix.yaml: the kernels, boot
// profiles, host files, environment and kernel modules its tests run with,
// and the rules that say what each of its tests must do on which kernel,
// in the vocabulary of the built-in expectation model (package
// harness/expect): kernel version, architecture, config option, active
// LSM (a boot parameter) and the named kernel features (trampoline, tcx,
// ...).
//
//	kernels: [debian-5.10, debian-6.1, debian-6.12]
//	profiles: [default]
//	includes: [/usr/bin/ip]
//	env: [MY_TEST_LEVEL=2]
//	modules: [veth, sch_ingress]
//	rules:
//	  - test: probe/TestFentryPath
//	    cases:
//	      - when: trampoline
//	        outcome: pass
//	        mechanism: fentry
//	      - outcome: pass
//	        mechanism: kprobe
//	  - test: tc/TestTCX
//	    cases:
//	      - when: version < 6.6
//	        outcome: unsupported
//	      - outcome: pass
//
// Every mistake is reported with the file's name and the line: an unknown
// key, a value of the wrong kind, a condition outside the vocabulary.
package userconfig

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
	"github.com/bpfmatrix/bpfmatrix/harness/flaky"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

// FileName is the config file's name, at the root of the project's Go
// module.
const FileName = "bpfmatrix.yaml"

// ErrInvalid is wrapped by every error about the file's content.
var ErrInvalid = errors.New("invalid bpfmatrix.yaml")

// Config is one bpfmatrix.yaml.
type Config struct {
	// Path is the file it was read from.
	Path string
	// Kernels are the default kernels (catalog names or references), as
	// --kernels takes them.
	Kernels []string
	// Profiles are the default boot profiles, as --profiles takes them.
	Profiles []string
	// Includes are host files for the guest, as --include takes them
	// (PATH[:GUESTPATH]).
	Includes []string
	// Env are KEY=VALUE settings for the guest, as --env takes them.
	Env []string
	// Modules are kernel modules to load before the tests, as --modules.
	Modules []string
	// Rules are the expectations, in file order; Model turns them into an
	// expect.Model.
	Rules []Rule
	// Retries is how many times a failing test runs again, as --retries.
	Retries int
	// KnownFlaky are the tests known to be flaky on given kernels, as the
	// file of --known-flaky lists them.
	KnownFlaky flaky.List
}

// Rule is the expectation for one test: the first case whose condition
// holds.
type Rule struct {
	// Test is the matrix row, package/TestName (subtests with more
	// slashes).
	Test  string
	Cases []Case
	// Line is where the rule starts in the file.
	Line int
}

// Case is one branch of a rule.
type Case struct {
	// When is the condition, "" for always (see [ParseCondition]).
	When string
	// Outcome is pass, fail, skip or unsupported.
	Outcome results.Outcome
	// Mechanism, if set, is what the test's record must name (a prefix).
	Mechanism string
	// Why explains the case; default: the condition.
	Why  string
	Line int

	cond func(expect.Facts) bool
}

// Find returns the bpfmatrix.yaml at the root of the Go module of dir, or
// "" if there is none.
func Find(dir string) string {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			p := filepath.Join(d, FileName)
			if _, err := os.Stat(p); err == nil {
				return p
			}
			return ""
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// Load reads and checks the file at path.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("userconfig: %w", err)
	}
	return Parse(path, b)
}

// Parse reads and checks a config file's content; name is used in errors.
func Parse(name string, data []byte) (*Config, error) {
	c := &Config{Path: name}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return c, nil // an empty file is an empty config
		}
		msg := err.Error()
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			hint := ""
			if strings.Contains(m[2], "mapping values are not allowed") {
				hint = " (quote a value that holds \": \")"
			}
			return nil, fmt.Errorf("%s:%s: %w: %s%s", name, m[1], ErrInvalid, m[2], hint)
		}
		return nil, fmt.Errorf("%s: %w: %v", name, ErrInvalid, err)
	}
	p := &parser{name: name}
	if len(doc.Content) == 0 {
		return c, nil
	}
	p.config(doc.Content[0], c)
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return c, nil
}

// yamlLine reads the line of a YAML syntax error.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parser collects every error of a file, each with its line.
type parser struct {
	name string
	errs []error
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s:%d: %w: %s", p.name, n.Line, ErrInvalid, fmt.Sprintf(format, args...)))
}

// mapping calls fn for each key of a mapping node, refusing keys outside
// known.
func (p *parser) mapping(n *yaml.Node, what string, known []string, fn func(key string, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be a mapping (key: value), not %s", what, kind(n))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !slices.Contains(known, k.Value) {
			p.errorf(k, "unknown key %q in %s (known: %s)", k.Value, what, strings.Join(known, ", "))
			continue
		}
		fn(k.Value, v)
	}
}

func (p *parser) strings(n *yaml.Node, what string) []string {
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return []string{n.Value} // one item may stand alone
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s must be a list of strings, not %s", what, kind(n))
		return nil
	}
	var out []string
	for _, it := range n.Content {
		if it.Kind != yaml.ScalarNode {
			p.errorf(it, "%s must be a list of strings; this item is %s", what, kind(it))
			continue
		}
		out = append(out, it.Value)
	}
	return out
}

func (p *parser) scalar(n *yaml.Node, what string) string {
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, "%s must be a string, not %s", what, kind(n))
		return ""
	}
	return n.Value
}

func kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	return fmt.Sprintf("the value %q", n.Value)
}

func (p *parser) config(n *yaml.Node, c *Config) {
	p.mapping(n, "the file", []string{"kernels", "profiles", "includes", "env", "modules", "rules", "retries", "known_flaky"}, func(key string, v *yaml.Node) {
		switch key {
		case "retries":
			n, err := strconv.Atoi(p.scalar(v, key))
			if err != nil || n < 0 {
				p.errorf(v, "retries: want a whole number, 0 or more")
			}
			c.Retries = n
		case "known_flaky":
			var l flaky.List
			if err := v.Decode(&l); err != nil {
				p.errorf(v, "known_flaky: %v", err)
			} else if err := l.Check(); err != nil {
				p.errorf(v, "known_flaky: %v", err)
			}
			c.KnownFlaky = l
		case "kernels":
			c.Kernels = p.strings(v, key)
		case "profiles":
			c.Profiles = p.strings(v, key)
			for _, name := range c.Profiles {
				if _, err := expect.SelectProfiles([]string{name}); err != nil {
					p.errorf(v, "profiles: %v", err)
				}
			}
		case "includes":
			c.Includes = p.strings(v, key)
		case "env":
			c.Env = p.strings(v, key)
			for _, e := range c.Env {
				if k, _, _ := strings.Cut(e, "="); k == "" {
					p.errorf(v, "env: %q: want KEY=VALUE or KEY", e)
				}
			}
		case "modules":
			c.Modules = p.strings(v, key)
		case "rules":
			if v.Kind != yaml.SequenceNode {
				p.errorf(v, "rules must be a list, not %s", kind(v))
				return
			}
			seen := map[string]int{}
			for _, rn := range v.Content {
				r := p.rule(rn)
				if r.Test == "" {
					continue
				}
				if line, dup := seen[r.Test]; dup {
					p.errorf(rn, "a second rule for %s (the first is on line %d): give one rule with several cases", r.Test, line)
					continue
				}
				seen[r.Test] = r.Line
				c.Rules = append(c.Rules, r)
			}
		}
	})
}

func (p *parser) rule(n *yaml.Node) Rule {
	r := Rule{Line: n.Line}
	p.mapping(n, "a rule", []string{"test", "cases"}, func(key string, v *yaml.Node) {
		switch key {
		case "test":
			r.Test = p.scalar(v, "test")
			if r.Test != "" && !strings.Contains(r.Test, "/") {
				p.errorf(v, "test %q must be PACKAGE/TestName, the matrix row (e.g. probe/TestFentry)", r.Test)
			}
		case "cases":
			if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
				p.errorf(v, "cases must be a non-empty list")
				return
			}
			for _, cn := range v.Content {
				r.Cases = append(r.Cases, p.ruleCase(cn))
			}
		}
	})
	if r.Test == "" {
		p.errorf(n, "a rule needs a test: PACKAGE/TestName")
	}
	if len(r.Cases) == 0 && r.Test != "" {
		p.errorf(n, "rule %s has no cases", r.Test)
	}
	for i, c := range r.Cases {
		if c.When == "" && i < len(r.Cases)-1 {
			p.errorf(n, "rule %s: the case on line %d has no when, so it always applies and the cases after it (line %d) never do: put it last", r.Test, c.Line, r.Cases[i+1].Line)
			break
		}
	}
	return r
}

func (p *parser) ruleCase(n *yaml.Node) Case {
	c := Case{Line: n.Line}
	p.mapping(n, "a case", []string{"when", "outcome", "mechanism", "why"}, func(key string, v *yaml.Node) {
		s := p.scalar(v, key)
		switch key {
		case "when":
			c.When = s
			cond, err := ParseCondition(s)
			if err != nil {
				p.errorf(v, "when %q: %v", s, err)
			} else if why := Unsatisfiable(s); why != "" {
				p.errorf(v, "when %q: no kernel can satisfy it (%s): fix the condition or drop the case", s, why)
			}
			c.cond = cond
		case "outcome":
			c.Outcome = results.Outcome(s)
			switch c.Outcome {
			case results.Pass, results.Fail, results.Skip, results.Unsupported:
			default:
				p.errorf(v, "outcome %q: want pass, unsupported, skip or fail", s)
			}
		case "mechanism":
			c.Mechanism = s
		case "why":
			c.Why = s
		}
	})
	if c.Outcome == "" {
		p.errorf(n, "a case needs an outcome (pass, unsupported, skip or fail)")
	}
	return c
}

// Model is the config's rules as an expectation model. Each case's Source
// names the file, its line and its condition.
func (c *Config) Model() expect.Model {
	m := expect.Model{}
	for _, r := range c.Rules {
		er := expect.Rule{Test: r.Test}
		for _, cs := range r.Cases {
			why := cs.Why
			if why == "" {
				why = "as " + filepath.Base(c.Path) + " says"
				if cs.When != "" {
					why = "where " + cs.When
				}
			}
			src := fmt.Sprintf("%s:%d", filepath.Base(c.Path), cs.Line)
			if cs.When != "" {
				src += ": " + cs.When
			}
			er.Cases = append(er.Cases, expect.Case{When: cs.cond, Outcome: cs.Outcome, Mechanism: cs.Mechanism, Why: why, Source: src})
		}
		m = append(m, er)
	}
	return m
}

// Unknown returns the rules whose test is not among rows (matrix row IDs,
// package/Test): each a warning, naming the test and its line.
func (c *Config) Unknown(rows map[string]bool) []string {
	var out []string
	for _, r := range c.Rules {
		if !rows[r.Test] {
			out = append(out, fmt.Sprintf("%s:%d: rule for %s, but no such test ran (a typo, or a test that -run left out?)", c.Path, r.Line, r.Test))
		}
	}
	return out
}

// Features are the named conditions of the vocabulary, the same
// predicates the built-in suites' rules use.
var Features = map[string]struct {
	Cond   func(expect.Facts) bool
	Source string
}{
	"trampoline":   {expect.Trampoline, expect.SrcTrampoline},
	"tcx":          {expect.TCX, expect.SrcTCX},
	"bpf-lsm":      {expect.BPFLSM, expect.SrcLSM},
	"perf-link":    {expect.PerfLink, expect.SrcPerfLink},
	"kprobe-multi": {expect.KprobeMulti, "min version 5.18, CONFIG_FPROBE"},
	"uprobe-multi": {expect.UprobeMulti, "min version 6.6 (uprobe.multi)"},
	"ringbuf":      {expect.Ringbuf, "min version 5.8 (ring buffer)"},
	"module-btf":   {expect.ModuleBTF, "CONFIG_DEBUG_INFO_BTF_MODULES, " + expect.SrcTrampoline},
	"no-pmu":       {expect.NoPMU, "TCG emulates no PMU on x86"},
	"config":       {expect.HasConfig, "the kernel came with its config"},
}

// ParseCondition reads a rule's condition: terms joined by "and" (or
// "&&"), each optionally preceded by "not" (or "!"):
//
//	version OP X.Y        OP one of < <= > >= == !=
//	arch == amd64         (or !=; amd64 or arm64)
//	CONFIG_FOO            built in (=y); CONFIG_FOO=m, CONFIG_FOO=n, CONFIG_FOO=VALUE
//	lsm bpf               the LSM is active in this boot (lsm= boot parameter, or CONFIG_LSM)
//	trampoline, tcx, bpf-lsm, perf-link, kprobe-multi, uprobe-multi,
//	ringbuf, module-btf, no-pmu, config   the built-in model's features
//
// "" always holds.
func ParseCondition(s string) (func(expect.Facts) bool, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var terms []func(expect.Facts) bool
	for _, part := range splitAnd(s) {
		t, err := parseTerm(part)
		if err != nil {
			return nil, err
		}
		terms = append(terms, t)
	}
	return func(f expect.Facts) bool {
		for _, t := range terms {
			if !t(f) {
				return false
			}
		}
		return true
	}, nil
}

// Unsatisfiable says why no kernel can meet the condition s (a valid
// one, see [ParseCondition]), or "" if some kernel can: its version and
// arch terms exclude each other (checked on every version from 2.0 to
// 12.99, on both architectures), or it asks for a feature, an LSM or a
// config option and for its opposite (or for two values of one option).
func Unsatisfiable(s string) string {
	type literal struct{ key, value, text string }
	var vterms []func(expect.Facts) bool
	var vtexts []string
	var pos, neg []literal
	for _, part := range splitAnd(s) {
		part = strings.TrimSpace(part)
		term, negated := part, false
		if rest, ok := strings.CutPrefix(part, "not "); ok {
			term, negated = strings.TrimSpace(rest), true
		} else if rest, ok := strings.CutPrefix(part, "!"); ok && !strings.HasPrefix(part, "!=") {
			term, negated = strings.TrimSpace(rest), true
		}
		if strings.HasPrefix(term, "version") || strings.HasPrefix(term, "arch") {
			t, err := parseTerm(part)
			if err != nil {
				return ""
			}
			vterms, vtexts = append(vterms, t), append(vtexts, part)
			continue
		}
		l := literal{key: term, value: "y", text: part}
		if opt, v, ok := strings.Cut(term, "="); ok && strings.HasPrefix(term, "CONFIG_") {
			l.key, l.value = strings.TrimSpace(opt), strings.TrimSpace(v)
		}
		if negated {
			neg = append(neg, l)
		} else {
			pos = append(pos, l)
		}
	}
	for i, p := range pos {
		for _, q := range pos[:i] {
			if p.key == q.key && p.value != q.value {
				return fmt.Sprintf("%q and %q exclude each other", q.text, p.text)
			}
		}
		for _, q := range neg {
			if p.key == q.key && p.value == q.value {
				return fmt.Sprintf("%q and %q exclude each other", p.text, q.text)
			}
		}
	}
	if len(vterms) == 0 {
		return ""
	}
	for _, arch := range []string{"amd64", "arm64"} {
		for major := 2; major <= 12; major++ {
			for minor := 0; minor <= 99; minor++ {
				f := expect.Facts{Arch: arch, Major: major, Minor: minor}
				all := true
				for _, t := range vterms {
					all = all && t(f)
				}
				if all {
					return ""
				}
			}
		}
	}
	return strings.Join(vtexts, " and ") + " exclude each other"
}

func splitAnd(s string) []string {
	s = strings.ReplaceAll(s, "&&", " and ")
	var parts, cur []string
	for _, w := range strings.Fields(s) {
		if w == "and" {
			parts = append(parts, strings.Join(cur, " "))
			cur = nil
			continue
		}
		cur = append(cur, w)
	}
	return append(parts, strings.Join(cur, " "))
}

var ops = []string{"<=", ">=", "==", "!=", "<", ">"}

func parseTerm(s string) (func(expect.Facts) bool, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("an empty term (\"and\" at the start or end, or twice)")
	}
	neg := false
	if rest, ok := strings.CutPrefix(s, "not "); ok {
		neg, s = true, strings.TrimSpace(rest)
	} else if rest, ok := strings.CutPrefix(s, "!"); ok && !strings.HasPrefix(s, "!=") {
		neg, s = true, strings.TrimSpace(rest)
	}
	t, err := parsePositive(s)
	if err != nil || !neg {
		return t, err
	}
	return func(f expect.Facts) bool { return !t(f) }, nil
}

func parsePositive(s string) (func(expect.Facts) bool, error) {
	if f, ok := Features[s]; ok {
		return f.Cond, nil
	}
	if name, ok := strings.CutPrefix(s, "lsm "); ok {
		name = strings.TrimSpace(name)
		return func(f expect.Facts) bool { return f.LSMActive(name) }, nil
	}
	if strings.HasPrefix(s, "CONFIG_") {
		opt, want, hasValue := strings.Cut(s, "=")
		opt = strings.TrimSpace(opt)
		if strings.ContainsAny(opt, " <>!") {
			return nil, fmt.Errorf("%q: write a config option as CONFIG_FOO or CONFIG_FOO=VALUE", s)
		}
		if !hasValue {
			want = "y"
		}
		want = strings.TrimSpace(want)
		return func(f expect.Facts) bool {
			v := f.Config[opt]
			if v == "" {
				v = "n"
			}
			return v == want
		}, nil
	}
	for _, field := range []string{"version", "arch"} {
		rest, ok := strings.CutPrefix(s, field)
		if !ok {
			continue
		}
		rest = strings.TrimSpace(rest)
		op := ""
		for _, o := range ops {
			if strings.HasPrefix(rest, o) {
				op = o
				break
			}
		}
		if op == "" {
			return nil, fmt.Errorf("%q: want %s OP VALUE, OP one of %s", s, field, strings.Join(ops, " "))
		}
		val := strings.TrimSpace(strings.TrimPrefix(rest, op))
		if field == "arch" {
			if val != "amd64" && val != "arm64" {
				return nil, fmt.Errorf("%q: arch is amd64 or arm64", s)
			}
			if op != "==" && op != "!=" {
				return nil, fmt.Errorf("%q: compare arch with == or !=", s)
			}
			return func(f expect.Facts) bool { return (f.Arch == val) == (op == "==") }, nil
		}
		major, minor, err := parseVersion(val)
		if err != nil {
			return nil, fmt.Errorf("%q: %v", s, err)
		}
		return func(f expect.Facts) bool {
			c := compareVersion(f.Major, f.Minor, major, minor)
			switch op {
			case "<":
				return c < 0
			case "<=":
				return c <= 0
			case ">":
				return c > 0
			case ">=":
				return c >= 0
			case "==":
				return c == 0
			}
			return c != 0
		}, nil
	}
	var names []string
	for n := range Features {
		names = append(names, n)
	}
	slices.Sort(names)
	return nil, fmt.Errorf("unknown condition %q (conditions: version OP X.Y, arch == amd64|arm64, CONFIG_FOO[=VALUE], lsm NAME, %s; joined with \"and\", negated with \"not\")", s, strings.Join(names, ", "))
}

func parseVersion(v string) (major, minor int, err error) {
	a, b, ok := strings.Cut(v, ".")
	if !ok {
		return 0, 0, fmt.Errorf("version %q: want MAJOR.MINOR, e.g. 6.6", v)
	}
	if major, err = strconv.Atoi(a); err == nil {
		minor, err = strconv.Atoi(b)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("version %q: want MAJOR.MINOR, e.g. 6.6", v)
	}
	return major, minor, nil
}

func compareVersion(aMaj, aMin, bMaj, bMin int) int {
	if aMaj != bMaj {
		return aMaj - bMaj
	}
	return aMin - bMin
}
