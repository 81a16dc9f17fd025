package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string // substrings of stderr
	}{
		{"no command", nil, exitUsage, []string{"no command given", "Usage:"}},
		{"unknown command", []string{"frobnicate"}, exitUsage, []string{`unknown command "frobnicate"`, "run, test, kernels, report"}},
		{"bad accel", []string{"run", "--accel", "hvf"}, exitUsage, []string{`"hvf"`, "auto, kvm, tcg"}},
		{"unknown kernel", []string{"run", "--kernels", "debian-6.1,debian-9.9"}, exitUsage, []string{"debian-9.9", "debian-5.10"}},
		{"unknown suite", []string{"run", "--suite", "^nosuch$"}, exitUsage, []string{"matches no suite", "kprobe"}},
		{"bad regexp", []string{"run", "--suite", "("}, exitUsage, []string{"not a valid regular expression"}},
		{"zero parallel", []string{"run", "--parallel", "0"}, exitUsage, []string{"--parallel 0"}},
		{"bad timeout", []string{"run", "--timeout", "soon"}, exitUsage, []string{"invalid value", "-timeout"}},
		{"negative timeout", []string{"run", "--timeout", "-1s"}, exitUsage, []string{"must be positive"}},
		{"tiny memory", []string{"run", "--memory", "16"}, exitUsage, []string{"at least 128 MB"}},
		{"exec tiny memory", []string{"exec", "--memory", "10", "--", "/bin/true"}, exitUsage, []string{"--memory 10", "at least 128 MB"}},
		{"shell tiny memory", []string{"shell", "--kernel", "debian-6.1", "--memory", "10"}, exitUsage, []string{"at least 128 MB"}},
		{"bench bad accel", []string{"bench", "--accel", "hvf"}, exitUsage, []string{`"hvf"`}},
		{"exec no cpus", []string{"exec", "--cpus", "0", "--", "/bin/true"}, exitUsage, []string{"--cpus 0"}},
		{"missing known-flaky list", []string{"run", "--known-flaky", "/nonexistent/flakes.yaml"}, exitUsage, []string{"--known-flaky", "no such file"}},
		{"negative retries", []string{"run", "--retries", "-1"}, exitUsage, []string{"--retries -1: must be 0 or more"}},
		{"zero boot timeout", []string{"run", "--boot-timeout", "0s"}, exitUsage, []string{"--boot-timeout 0s: must be positive"}},
		{"exec negative boot timeout", []string{"exec", "--boot-timeout", "-5s", "--", "/bin/true"}, exitUsage, []string{"--boot-timeout -5s"}},
		{"shell bad boot timeout", []string{"shell", "--kernel", "debian-6.1", "--boot-timeout", "soon"}, exitUsage, []string{"invalid value", "-boot-timeout"}},
		{"bench zero boot timeout", []string{"bench", "--boot-timeout", "0"}, exitUsage, []string{"--boot-timeout"}},
		{"shell negative timeout", []string{"shell", "--kernel", "debian-6.1", "--timeout", "-1s"}, exitUsage, []string{"must be positive"}},
		{"bad test selection", []string{"run", "--run", "TestK("}, exitUsage, []string{`--run "TestK(" is not a valid test selection`}},
		{"stray argument", []string{"run", "debian-6.1"}, exitUsage, []string{"--kernels debian-6.1"}},
		{"kernels without subcommand", []string{"kernels"}, exitUsage, []string{"list, pull, update"}},
		{"kernels unknown subcommand", []string{"kernels", "drop"}, exitUsage, []string{`"drop"`}},
		{"kernels unknown name", []string{"kernels", "pull", "linux-1.0"}, exitUsage, []string{"linux-1.0", "debian-6.1"}},
		{"flags after names", []string{"kernels", "pull", "linux-1.0", "--cache", "/tmp"}, exitUsage, []string{`"linux-1.0"`}},
		{"bad flag after names", []string{"kernels", "pull", "debian-6.1", "--frob"}, exitUsage, []string{"-frob"}},
		{"show without names", []string{"kernels", "show"}, exitUsage, []string{"needs kernel names"}},
		{"unknown profile", []string{"run", "--profiles", "default,fast"}, exitUsage, []string{`"fast"`, "lsm-bpf"}},
		{"bench bad floor runs", []string{"bench", "--floor-runs", "0"}, exitUsage, []string{"--floor-runs"}},
		{"bench unknown kernel", []string{"bench", "--kernels", "nope"}, exitUsage, []string{`"nope"`}},
		{"help", []string{"help"}, exitOK, nil},
		{"run help", []string{"run", "-h"}, exitOK, []string{"-inject-wrong", "-kernels", "Examples:"}},
		{"kernels help", []string{"kernels", "--help"}, exitOK, []string{"kernels pull", "-mirror"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), &stdout, &stderr, tt.args...)
			code := exitCode(&stderr, err)
			assert.Equal(t, tt.wantCode, code, "run(%q) exit code; stderr:\n%s", tt.args, stderr.String())
			for _, w := range tt.want {
				assert.Contains(t, stderr.String(), w)
			}
		})
	}
}

func TestHelpTeaches(t *testing.T) {
	var stdout, stderr bytes.Buffer
	assert.NoError(t, run(context.Background(), &stdout, &stderr, "help"))
	for _, w := range []string{"bpfmatrix run", "kernels list", "kernels pull", "kernels update", "BPFMATRIX_DEBIAN_MIRROR", "BPFMATRIX_CACHE"} {
		assert.Contains(t, stdout.String(), w)
	}
}

// TestDryRun checks that run --dry-run prints the planned columns in
// matrix order, kernel by kernel and profile by profile, and exits 0
// without fetching or booting anything.
func TestDryRun(t *testing.T) {
	var stdout, stderr bytes.Buffer
	dir := t.TempDir()
	err := run(context.Background(), &stdout, &stderr, "run", "--dry-run", "--cache", dir, "--lock", dir+"/bpfmatrix.lock",
		"--kernels", "debian-6.1,debian-5.10-arm64", "--suite", "^kprobe$", "--cpus", "2")
	assert.NoError(t, err, stderr.String())
	out := stdout.String()
	assert.Contains(t, out, "suites: kprobe")
	assert.Contains(t, out, "2 CPU(s)")
	assert.Regexp(t, `(?s)debian-6.1 .*debian-6.1\+lsm-bpf .*debian-5.10-arm64 .*debian-5.10-arm64\+lsm-bpf `, out)
	assert.Contains(t, out, "4 column(s), 2 kernel(s) x 2 profile(s)")
}
