package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/harness/plan"
	"github.com/bpfmatrix/bpfmatrix/harness/report"
	"github.com/bpfmatrix/bpfmatrix/harness/report/matrix"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

const (
	fixture       = "../../harness/report/testdata/results.json"
	fixtureExpect = "../../harness/report/testdata/results-expect.json"
)

// TestReportRerendersRun checks that report writes, byte for byte, what
// run writes for the same results (run uses report.WriteFile).
func TestReportRerendersRun(t *testing.T) {
	t.Setenv("COLUMNS", "") // the width of a file: text.DefaultWidth
	res, err := results.ReadJSON(fixtureExpect)
	require.NoError(t, err)
	dir := t.TempDir()
	for _, f := range report.Formats {
		t.Run(string(f), func(t *testing.T) {
			want := filepath.Join(dir, "run."+string(f))
			require.NoError(t, report.WriteFile(want, res, f))
			got := filepath.Join(dir, "report."+string(f))
			var stdout, stderr bytes.Buffer
			require.NoError(t, reportCmd(context.Background(), &stdout, &stderr, []string{"--format", string(f), "-o", got, fixtureExpect}))
			assert.Equal(t, readFile(t, want), readFile(t, got))
			// To stdout (not a terminal: no colour), flags after the file.
			stdout.Reset()
			require.NoError(t, reportCmd(context.Background(), &stdout, &stderr, []string{fixtureExpect, "--format", string(f)}))
			assert.Equal(t, readFile(t, want), stdout.String())
		})
	}
}

// TestReportFitsColumns is the done-when of issue 16: `COLUMNS=120
// bpfmatrix report results.json` of the default matrix prints no line
// wider than 120 and still names every fallback and unsupported reason;
// --show narrows the rows.
func TestReportFitsColumns(t *testing.T) {
	const path = "../../harness/report/testdata/results-default.json"
	res, err := results.ReadJSON(path)
	require.NoError(t, err)
	for _, cols := range []string{"120", "90"} {
		t.Run(cols, func(t *testing.T) {
			t.Setenv("COLUMNS", cols)
			var stdout, stderr bytes.Buffer
			require.NoError(t, reportCmd(context.Background(), &stdout, &stderr, []string{path}))
			limit, _ := strconv.Atoi(cols)
			for _, l := range strings.Split(stdout.String(), "\n") {
				assert.LessOrEqual(t, utf8.RuneCountInString(l), limit, "%q", l)
			}
			flat := strings.Join(strings.Fields(stdout.String()), " ")
			m := matrix.Build(res)
			for _, g := range append(m.FallbackGroups(m.Select(matrix.ShowAll)), m.UnsupportedGroups(m.Select(matrix.ShowAll))...) {
				assert.Contains(t, flat, strings.Join(strings.Fields(g.Text), " "))
			}
		})
	}
	t.Setenv("COLUMNS", "120")
	var stdout, stderr bytes.Buffer
	require.NoError(t, reportCmd(context.Background(), &stdout, &stderr, []string{"--show", "fallback", path}))
	assert.Contains(t, stdout.String(), "7 of 30 rows (--show fallback;")
	err = reportCmd(context.Background(), &stdout, &stderr, []string{"--show", "broken", path})
	assert.ErrorIs(t, err, errUsage)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

func TestReportMergeAndDiff(t *testing.T) {
	dir := t.TempDir()
	full, err := results.ReadJSON(fixture)
	require.NoError(t, err)
	var shards []string
	for i := 1; i <= 2; i++ {
		part := *full
		part.Kernels = plan.SelectShard(plan.Shard{Index: i, N: 2}, full.Kernels)
		p := filepath.Join(dir, "shard.json")
		p = p[:len(p)-5] + string(rune('0'+i)) + ".json"
		require.NoError(t, report.WriteFile(p, &part, report.FormatJSON))
		shards = append(shards, p)
	}
	merged := filepath.Join(dir, "all.json")
	var stdout, stderr bytes.Buffer
	require.NoError(t, reportCmd(context.Background(), &stdout, &stderr, append([]string{"merge", "-o", merged}, shards...)))
	got, err := results.ReadJSON(merged)
	require.NoError(t, err)
	assert.Equal(t, full.Kernels, got.Kernels)

	stdout.Reset()
	require.NoError(t, reportCmd(context.Background(), &stdout, &stderr, []string{"diff", fixture, merged}))
	assert.Equal(t, "0 regressions, 0 improvements, 0 other changes\n", stdout.String())

	stdout.Reset()
	err = reportCmd(context.Background(), &stdout, &stderr, []string{"diff", fixture, fixtureExpect})
	assert.Equal(t, exitFailed, exitCode(&stderr, err), "a regression exits 1")
	assert.Contains(t, stdout.String(), "regressions (")
	assert.Contains(t, stdout.String(), "kprobe/TestKretprobe on debian-5.10/amd64: pass (perf_event ioctl) -> fail")
}

func TestReportUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no file", nil, "exactly one results file"},
		{"bad format", []string{"--format", "pdf", fixture}, "text, json, junit, markdown, html"},
		{"two files", []string{fixture, fixture}, "exactly one results file"},
		{"merge nothing", []string{"merge"}, "results files of the shards"},
		{"diff one", []string{"diff", fixture}, "two results files"},
		{"unknown flag", []string{"--colour", fixture}, "-colour"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := reportCmd(context.Background(), &stdout, &stderr, tt.args)
			assert.Equal(t, exitUsage, exitCode(&stderr, err))
			assert.Contains(t, stderr.String(), tt.want)
		})
	}
	var stdout, stderr bytes.Buffer
	err := reportCmd(context.Background(), &stdout, &stderr, []string{"merge", fixture, fixture})
	assert.ErrorContains(t, err, "is in both")
	err = reportCmd(context.Background(), &stdout, &stderr, []string{"-h"})
	assert.NoError(t, err)
	assert.Contains(t, stderr.String(), "report merge")
}

func TestRunShardFlag(t *testing.T) {
	tests := []struct {
		shard, want string
	}{
		{"0/2", "1-based"},
		{"3/2", "between 1 and 2"},
		{"1/0", "at least 1"},
		{"one/2", "want i/n"},
		{"2", "want i/n"},
		{"3/3", "no kernel falls in this shard (2 kernels, 3 shards): use at most 2 shards"},
	}
	for _, tt := range tests {
		t.Run(tt.shard, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), &stdout, &stderr, "run", "--kernels", "debian-5.10,debian-6.12", "--shard", tt.shard)
			assert.Equal(t, exitUsage, exitCode(&stderr, err))
			assert.Contains(t, stderr.String(), tt.want)
		})
	}
}
