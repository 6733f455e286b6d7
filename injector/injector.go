// Package injector is the boundary between a game day and the VMs it evicts:
// discovering targets and calling simulateEviction on them, on Azure or on the
// simulated fleet, which accept the call in the same way.
package injector

import (
	"context"
	"errors"
	"strings"
)

// Priorities, as Azure spells them.
const (
	PrioritySpot    = "Spot"
	PriorityRegular = "Regular"
)

// States of a target, as the runner and the guard see them.
const (
	StateRunning      = "running"
	StateNoticed      = "noticed"
	StateEvicted      = "evicted"
	StateProvisioning = "provisioning"
)

// Target is one VM or scale-set instance that a wave may evict.
type Target struct {
	// ID is unique in the run: the ARM resource ID on Azure, the VM name on
	// the simulated fleet.
	ID             string
	Name           string
	Pool           string
	Zone           string
	Priority       string
	EvictionPolicy string
	Tags           map[string]string
	// PoolID and PoolTags are the scale set the target belongs to (its ARM
	// resource ID on Azure, the pool's name on the simulated fleet) and
	// the scale set's own tags: an exemption on the set covers every
	// instance, whatever the instance's tags say.
	PoolID   string
	PoolTags map[string]string
	State    string
	// Fallback marks a Regular VM standing in for lost Spot capacity.
	Fallback bool
}

// LeaseTag marks a scale set or VM as taken by one game day (its value is
// the run's ID): no other run touches it.
const LeaseTag = "spotdrill-run"

// Key identifies the target in a run, case-insensitively as Azure compares
// resource IDs: plans, guards and locks compare keys, never names.
func (t Target) Key() string { return Key(t.ID) }

// Key is the key of a resource ID.
func Key(id string) string { return strings.ToLower(id) }

// Spot reports whether the target is a Spot VM, the only kind ever evicted.
func (t Target) Spot() bool { return t.Priority == PrioritySpot }

// Injector discovers targets and asks for their eviction. SimulateEviction
// returns once the request is accepted; the notice and the eviction itself
// come later and are observed, never assumed.
type Injector interface {
	Discover(ctx context.Context) ([]Target, error)
	SimulateEviction(ctx context.Context, t Target) error
}

// ErrNotSpot is what an injector returns when the platform refuses to evict
// a VM that is not Spot.
var ErrNotSpot = errors.New("not a Spot VM")

// ErrGone is returned for a target that no longer exists or already stopped.
var ErrGone = errors.New("target is gone")
