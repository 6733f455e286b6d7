package azure_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/injector"
	"github.com/spotdrill/spotdrill/injector/azure"
	"github.com/spotdrill/spotdrill/injector/azure/azurefake"
)

func TestPacerUnderAFakeClock(t *testing.T) {
	clock := azurefake.NewClock(t0, true)
	p, err := azure.NewPacer(8, 20, clock)
	require.NoError(t, err)
	for i := range 100 {
		require.NoError(t, p.Wait(context.Background()))
		// The first 20 go at once; then one every 125 ms.
		want := time.Duration(max(0, i-19)) * 125 * time.Millisecond
		require.Equal(t, want, clock.Now().Sub(t0), "call %d", i)
	}
	require.Equal(t, 10*time.Second, clock.Now().Sub(t0))
	require.Equal(t, 10*time.Second, azure.Allowed(100, 8, 20))
}

func TestPacerHoldsConcurrentCallers(t *testing.T) {
	clock := azurefake.NewClock(t0, false)
	p, err := azure.NewPacer(10, 5, clock)
	require.NoError(t, err)
	var passed atomic.Int64
	var wg sync.WaitGroup
	for range 15 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if p.Wait(context.Background()) == nil {
				passed.Add(1)
			}
		}()
	}
	require.True(t, clock.WaitForSleepers(10, 5*time.Second))
	require.EqualValues(t, 5, passed.Load(), "the burst passes at once")
	for want := int64(6); want <= 15; want++ {
		clock.Advance(100 * time.Millisecond)
		require.Eventually(t, func() bool { return passed.Load() == want }, 5*time.Second, time.Millisecond)
		require.EqualValues(t, want, passed.Load(), "one more every 100 ms")
	}
	wg.Wait()
}

func TestPacerCancelGivesTheTokenBack(t *testing.T) {
	clock := azurefake.NewClock(t0, false)
	p, err := azure.NewPacer(1, 1, clock)
	require.NoError(t, err)
	require.NoError(t, p.Wait(context.Background()))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Wait(ctx) }()
	require.True(t, clock.WaitForSleepers(1, 5*time.Second))
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	// The cancelled reservation is returned: the next caller waits one
	// interval, not two.
	clock.Advance(time.Second)
	require.NoError(t, p.Wait(context.Background()))
	_, err = azure.NewPacer(0, 1, clock)
	require.Error(t, err)
}

func TestClientPacesItsCalls(t *testing.T) {
	clock := azurefake.NewClock(t0, true)
	f := azurefake.New(clock.Now, 50)
	mixedFleet(f)
	c, _ := newClient(t, f, clock, azure.Options{Rate: 2, Burst: 3, Concurrency: 1})
	vms := discover(t, c)
	var ts []injector.Target
	for _, n := range []string{"spot-01", "spot-02", "spot-03", "spot-04", "spot-05", "spot-06"} {
		ts = append(ts, vms[n].Target())
	}
	for _, call := range c.SimulateEvictions(context.Background(), ts) {
		require.NoError(t, call.Err)
	}
	var at []time.Duration
	for _, call := range f.Calls() {
		at = append(at, call.At.Sub(t0))
	}
	ms := time.Millisecond
	require.Equal(t, []time.Duration{0, 0, 0, 500 * ms, 1000 * ms, 1500 * ms}, at)
}

func TestPacerEmptiesOnA429(t *testing.T) {
	clock := azurefake.NewClock(t0, true)
	p, err := azure.NewPacer(10, 50, clock)
	require.NoError(t, err)
	require.NoError(t, p.Wait(context.Background()))
	require.Equal(t, t0, clock.Now(), "the burst is there")
	p.Throttled()
	require.NoError(t, p.Wait(context.Background()))
	require.Equal(t, 100*time.Millisecond, clock.Now().Sub(t0), "after a 429 the next call waits for a fresh token")
}
