package sim

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestQueueOrdersByTimeThenSequence(t *testing.T) {
	var q queue
	r := rand.New(rand.NewPCG(1, 2))
	const n = 10000
	for i := 0; i < n; i++ {
		q.push(ev{t: int64(r.IntN(100)), a: int32(i)})
	}
	prev := ev{t: -1}
	for i := 0; i < n; i++ {
		e := q.pop()
		require.True(t, e.t > prev.t || (e.t == prev.t && e.seq > prev.seq), "event %d out of order: %+v after %+v", i, e, prev)
		prev = e
	}
	require.Equal(t, 0, q.len())
}

// BenchmarkEventLoopFloor is the bare loop over the simulator's event queue
// with 1e5 events pending: pop one, push one. It is the floor the simulator
// core is measured against.
func BenchmarkEventLoopFloor(b *testing.B) {
	const pending = 100_000
	var q queue
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < pending; i++ {
		q.push(ev{t: int64(r.ExpFloat64() * 1e12)})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := q.pop()
		e.t += int64(r.ExpFloat64() * 1e12)
		q.push(e)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
