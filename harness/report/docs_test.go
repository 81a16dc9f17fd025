package report

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// TestCIDocYAML checks that every YAML block of docs/ci.md parses and that
// the workflows use the flags and commands that exist.
func TestCIDocYAML(t *testing.T) {
	b, err := os.ReadFile("../../docs/ci.md")
	require.NoError(t, err)
	blocks := yamlBlock.FindAllStringSubmatch(string(b), -1)
	require.Len(t, blocks, 2, "a GitHub Actions workflow and a GitLab CI snippet")
	for i, m := range blocks {
		var doc map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(m[1]), &doc), "YAML block %d of docs/ci.md", i+1)
		require.NotEmpty(t, doc)
	}
	var gh struct {
		Jobs map[string]struct {
			Needs    any `yaml:"needs"`
			Strategy struct {
				Matrix map[string][]int `yaml:"matrix"`
			} `yaml:"strategy"`
			Steps []map[string]any `yaml:"steps"`
		} `yaml:"jobs"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(blocks[0][1]), &gh))
	assert.Len(t, gh.Jobs["matrix"].Strategy.Matrix["shard"], 4)
	assert.Equal(t, "matrix", gh.Jobs["report"].Needs)
	// The jobs use the repository's action, with inputs it has.
	ab, err := os.ReadFile("../../action.yml")
	require.NoError(t, err)
	var act struct {
		Inputs map[string]any `yaml:"inputs"`
	}
	require.NoError(t, yaml.Unmarshal(ab, &act))
	withs := map[string]map[string]any{}
	for name, job := range gh.Jobs {
		for _, step := range job.Steps {
			if uses, _ := step["uses"].(string); strings.HasPrefix(uses, "bpfmatrix/bpfmatrix@") {
				with, _ := step["with"].(map[string]any)
				withs[name] = with
				for k := range with {
					assert.Contains(t, act.Inputs, k, "job %s gives the action input %s", name, k)
				}
			}
		}
	}
	assert.Equal(t, "${{ matrix.shard }}/4", withs["matrix"]["shard"], "each shard job runs its shard through the action")
	assert.NotEmpty(t, withs["report"]["merge"], "the report job merges through the action")
	text := string(b)
	for _, want := range []string{"--shard", "report merge", "GITHUB_STEP_SUMMARY", "--format html", "--format junit", "report diff"} {
		assert.True(t, strings.Contains(text, want), want)
	}
}
