package experiments

import (
	"context"
	"time"

	"github.com/spotdrill/spotdrill/internal/sim"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/scenarios"
)

// simWorld runs the simulated fleet on its virtual clock, as fast as the
// machine allows.
type simWorld struct {
	*sim.World
}

var _ World = simWorld{}

// NewSimWorld builds the simulated fleet of a scenario; its events go to sink.
func NewSimWorld(sc *scenarios.Scenario, sink journal.Sink, opts sim.Options) (World, error) {
	w, err := sim.New(sc, sc.Seed, sink, opts)
	if err != nil {
		return nil, err
	}
	return simWorld{w}, nil
}

func (s simWorld) Start(ctx context.Context) error {
	s.World.StartContext(ctx)
	return nil
}

// AdvanceTo runs the event loop to t. Virtual time needs no waiting, so the
// context is only checked between steps by the runner.
func (s simWorld) AdvanceTo(_ context.Context, t time.Duration) error {
	s.World.AdvanceTo(t)
	return nil
}
