package azure_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The shipped role grants exactly what the provider calls: reads of VMs,
// scale sets and instances, and the two simulateEviction actions.
func TestRoleIsLeastPrivilege(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "azure", "spotdrill-role.json"))
	require.NoError(t, err)
	var role struct {
		Name, Description   string
		IsCustom            bool
		Actions, NotActions []string
		DataActions         []string
		AssignableScopes    []string
	}
	require.NoError(t, json.Unmarshal(raw, &role))
	require.True(t, role.IsCustom)
	require.NotEmpty(t, role.Name)
	require.ElementsMatch(t, []string{
		"Microsoft.Compute/virtualMachines/read",
		"Microsoft.Compute/virtualMachines/instanceView/read",
		"Microsoft.Compute/virtualMachines/simulateEviction/action",
		"Microsoft.Compute/virtualMachineScaleSets/read",
		"Microsoft.Compute/virtualMachineScaleSets/virtualMachines/read",
		"Microsoft.Compute/virtualMachineScaleSets/virtualMachines/instanceView/read",
		"Microsoft.Compute/virtualMachineScaleSets/virtualMachines/simulateEviction/action",
	}, role.Actions)
	for _, a := range role.Actions {
		require.NotContains(t, a, "*", "no wildcards")
		require.True(t, strings.HasSuffix(a, "/read") || strings.HasSuffix(a, "/simulateEviction/action"), a)
	}
	require.Empty(t, role.DataActions)
	require.Equal(t, []string{"/subscriptions/00000000-0000-0000-0000-000000000000"}, role.AssignableScopes,
		"a placeholder that docs/azure.md replaces with the subscription")
}

// The optional lease role grants the tags API and nothing else.
func TestLeaseRoleGrantsOnlyTags(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "azure", "spotdrill-lease-role.json"))
	require.NoError(t, err)
	var role struct {
		Name             string
		IsCustom         bool
		Actions          []string
		DataActions      []string
		AssignableScopes []string
	}
	require.NoError(t, json.Unmarshal(raw, &role))
	require.True(t, role.IsCustom)
	require.ElementsMatch(t, []string{"Microsoft.Resources/tags/read", "Microsoft.Resources/tags/write"}, role.Actions)
	require.Empty(t, role.DataActions)
	require.Equal(t, []string{"/subscriptions/00000000-0000-0000-0000-000000000000"}, role.AssignableScopes)
}
