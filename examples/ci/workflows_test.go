// Package ci holds the CI examples; its test lints the GitHub Actions
// workflows with actionlint, as GitHub would read them.
package ci

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/rhysd/actionlint"
	"github.com/stretchr/testify/require"
)

func TestWorkflowsPassActionlint(t *testing.T) {
	files := []string{"github-actions.yml", "sweep-matrix.yml"}
	opts := &actionlint.LinterOptions{Oneline: true, WorkingDir: "."}
	if sc, err := exec.LookPath("shellcheck"); err == nil {
		opts.Shellcheck = sc // the run: scripts too, when shellcheck is here
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			var out bytes.Buffer
			l, err := actionlint.NewLinter(&out, opts)
			require.NoError(t, err)
			errs, err := l.LintFile(filepath.Clean(f), nil)
			require.NoError(t, err)
			require.Empty(t, errs, "actionlint:\n%s", out.String())
		})
	}
}
