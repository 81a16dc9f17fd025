package report

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/harness/report/internal/fixture"
)

// TestJUnitValidatesAgainstSchema checks the JUnit output of both fixtures
// against testdata/junit.xsd (the format Jenkins, GitHub reporters and
// GitLab read) with xmllint (Debian's libxml2-utils).
func TestJUnitValidatesAgainstSchema(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and xmllint is missing: %v (install libxml2-utils)", err)
		}
		t.Skipf("xmllint is missing (%v): sudo apt-get install -y libxml2-utils", err)
	}
	for _, f := range []string{fixture.Results, fixture.Expect} {
		t.Run(filepath.Base(f), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "junit.xml")
			require.NoError(t, os.WriteFile(path, []byte(render(t, fixture.Load(t, f), FormatJUnit)), 0o644))
			out, err := exec.Command(xmllint, "--noout", "--schema", filepath.Join(fixture.Dir, "junit.xsd"), path).CombinedOutput()
			require.NoError(t, err, "xmllint: %s", out)
		})
	}
	// The schema can fail: a testcase without its name is refused.
	bad := filepath.Join(t.TempDir(), "bad.xml")
	require.NoError(t, os.WriteFile(bad, []byte(`<testsuites><testsuite name="k" tests="1"><testcase classname="c"/></testsuite></testsuites>`), 0o644))
	out, err := exec.Command(xmllint, "--noout", "--schema", filepath.Join(fixture.Dir, "junit.xsd"), bad).CombinedOutput()
	require.Error(t, err, "xmllint accepted a testcase without a name: %s", out)
}
