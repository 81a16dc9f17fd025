package report

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chromium finds the browser; without it the test skips, except in CI
// (CI=true), where it fails.
func chromium(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err == nil {
		return path
	}
	msg := "chromium not found; install it with: sudo apt-get install -y chromium"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// runChromium runs headless chromium on the page with extra flags and
// returns stdout and stderr.
func runChromium(t *testing.T, bin, page string, flags ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0",
	}, flags...)
	cmd := exec.CommandContext(ctx, bin, append(args, page)...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "chromium %q:\n%s", args, stderr.String())
	return stdout.String(), stderr.String()
}

// consoleProblems returns the JavaScript errors and console messages in
// chromium's log (the report logs nothing when it works).
func consoleProblems(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "Uncaught") || strings.Contains(l, ":CONSOLE") {
			out = append(out, l)
		}
	}
	return out
}

// TestHTMLInChromium renders the HTML report in headless Chromium: the
// script must run without console errors, mark the page ready, and open
// the details of the first unexpected cell. With
// BPFMATRIX_UPDATE_SCREENSHOT=1 it also refreshes docs/matrix.png.
func TestHTMLInChromium(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "matrix.html")
	require.NoError(t, WriteFile(page, load(t, fixtureExpect), FormatHTML))
	url := "file://" + page

	dom, log := runChromium(t, bin, url, "--dump-dom")
	assert.Empty(t, consoleProblems(log))
	assert.Contains(t, dom, `data-report-ready="15"`, "the script ran over every cell")
	assert.Regexp(t, regexp.MustCompile(`(?s)<aside id="panel">\s*<h2>kprobe/TestKprobe on debian-6.12</h2>.*kprobe links need Linux &gt;= 5.15.*console tail`), dom,
		"the first unexpected cell is opened with its rule and the console tail")
	assert.Contains(t, dom, `class="cell pass fallback unexpected selected"`)

	// A cell named in the URL is opened instead.
	dom, log = runChromium(t, bin, url+"#cell=c2-2", "--dump-dom")
	assert.Empty(t, consoleProblems(log))
	assert.Regexp(t, `(?s)<aside id="panel">\s*<h2>tc/TestTCNetlink on debian-7.2</h2>.*the test never finished.*rcu_preempt detected stalls`, dom)

	if os.Getenv("BPFMATRIX_UPDATE_SCREENSHOT") == "1" {
		shot, err := filepath.Abs("../../docs/matrix.png")
		require.NoError(t, err)
		_, log = runChromium(t, bin, url+"#cell=c0-1", "--hide-scrollbars", "--window-size=1300,720", "--screenshot="+shot)
		assert.Empty(t, consoleProblems(log))
		st, err := os.Stat(shot)
		require.NoError(t, err)
		assert.Greater(t, st.Size(), int64(10000))
	}
}
