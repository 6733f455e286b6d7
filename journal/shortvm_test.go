package journal

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestShortVM(t *testing.T) {
	for in, want := range map[string]string{
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/batch-spot/virtualMachines/11": "batch-spot/11",
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/gpu-0":                                 "gpu-0",
		"batch-spot_3": "batch-spot_3",
		"":             "",
	} {
		assert.Equal(t, want, ShortVM(in), in)
	}
}
