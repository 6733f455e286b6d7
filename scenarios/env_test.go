package scenarios

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestExpandEnv(t *testing.T) {
	env := map[string]string{"SUB": "sub-1", "EMPTY": "", "RG": "rg-a"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct {
		in, want string
		problem  string
	}{
		{in: "plain", want: "plain"},
		{in: "${SUB}", want: "sub-1"},
		{in: "x-${SUB}-${RG}-y", want: "x-sub-1-rg-a-y"},
		{in: "${UNSET:-fallback}", want: "fallback"},
		{in: "${EMPTY:-fallback}", want: "fallback"},
		{in: "${EMPTY}", want: ""},
		{in: "${SUB:-other}", want: "sub-1"},
		{in: "${UNSET:-}", want: ""},
		{in: "$SUB and $$", want: "$SUB and $$"},
		{in: "${SUB}${SUB}", want: "sub-1sub-1"},
		{in: "${UNSET}", want: "${UNSET}", problem: "environment variable UNSET is not set (expected it set, or a default such as ${UNSET:-value})"},
		{in: "${1X}", want: "${1X}", problem: "${1X} does not name an environment variable"},
		{in: "${}", want: "${}", problem: "${} does not name an environment variable"},
		{in: "a-${SUB", want: "a-${SUB", problem: `"${SUB" has a ${ without a closing }`},
		{in: "${A:-${SUB}}", want: "${A:-${SUB}}", problem: "nests a reference in its default"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			e := envExpander{lookup: lookup, file: "f"}
			assert.Equal(t, tt.want, e.expand("target.azure.subscription", tt.in))
			if tt.problem == "" {
				assert.Empty(t, e.probs)
				return
			}
			if assert.Len(t, e.probs, 1) {
				assert.Equal(t, "target.azure.subscription", e.probs[0].Field)
				assert.Contains(t, e.probs[0].Msg, tt.problem)
			}
		})
	}
}

// TestExpandEnvOnlyInAzureTarget checks every field that expands, and that
// fields elsewhere keep their text.
func TestExpandEnvOnlyInAzureTarget(t *testing.T) {
	lookup := func(k string) (string, bool) { return "<" + k + ">", true }
	s := &Scenario{
		Metadata: Metadata{Name: "${NAME}", Labels: map[string]string{"l": "${L}"}},
		Target: Target{Provider: ProviderAzure, Azure: &AzureTarget{
			Subscription:    "${S}",
			ResourceGroups:  []string{"${RG}"},
			ScaleSets:       []string{"${SS}"},
			VMs:             []string{"${VM}"},
			Tags:            map[string]string{"${K}": "${V}"},
			Zones:           []string{"${Z}"},
			NodeProviderIDs: []string{"${N}"},
		}},
		Waves: []Wave{{Name: "${W}"}},
	}
	assert.Empty(t, s.expandEnv(lookup))
	assert.Equal(t, &AzureTarget{
		Subscription:    "<S>",
		ResourceGroups:  []string{"<RG>"},
		ScaleSets:       []string{"<SS>"},
		VMs:             []string{"<VM>"},
		Tags:            map[string]string{"${K}": "<V>"},
		Zones:           []string{"<Z>"},
		NodeProviderIDs: []string{"<N>"},
	}, s.Target.Azure)
	assert.Equal(t, "${NAME}", s.Metadata.Name)
	assert.Equal(t, "${L}", s.Metadata.Labels["l"])
	assert.Equal(t, "${W}", s.Waves[0].Name)
}

func TestParseReportsUnsetVariableAtItsPlace(t *testing.T) {
	data := []byte("apiVersion: spotdrill.dev/v1\nkind: GameDay\nmetadata: {name: a}\nduration: 1h\ntarget:\n  provider: azure\n  azure:\n    subscription: ${NOPE}\n    tags: {env: '${ENV_NAME}'}\n")
	_, err := parse(data, "a.yaml", func(string) (string, bool) { return "", false })
	assert.EqualError(t, err, "a.yaml:8:19: target.azure.subscription: environment variable NOPE is not set (expected it set, or a default such as ${NOPE:-value})\n"+
		"a.yaml:9:17: target.azure.tags.env: environment variable ENV_NAME is not set (expected it set, or a default such as ${ENV_NAME:-value})")
}
