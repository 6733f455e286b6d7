package telemetry_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/spotdrill/spotdrill/internal/telemetry"
)

// peakRSS is the process's peak resident memory (VmHWM), in bytes.
func peakRSS(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status on this system")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Skip("no VmHWM")
	return 0
}

// gzipBomb is a 15 KB gzip body that decompresses to 16 MiB of zeros: the
// worst a small request can ask of the receiver.
func gzipBomb(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	require.NoError(t, err)
	_, err = zw.Write(make([]byte, telemetry.DefaultMaxBody-1))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return b.Bytes()
}

func gzipped(t *testing.T, raw []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, err := zw.Write(raw)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return b.Bytes()
}

// TestReceiverUnderAFlood: 300 concurrent clients post small gzip bodies
// through real HTTP on loopback: real 512-span batches, and 15 KB bombs
// that decompress to 16 MiB. Every request is answered 200, 400 (the bomb
// is no protobuf), 413 or 429 with Retry-After, and the receiver's memory
// stays bounded by its limits, not by the flood. Each flood runs in a
// process of its own, so that its peak RSS is its own.
func TestReceiverUnderAFlood(t *testing.T) {
	if flood := os.Getenv("SPOTDRILL_FLOOD"); flood != "" {
		runFlood(t, flood)
		return
	}
	for _, flood := range []string{"batches", "bombs"} {
		t.Run(flood, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run", "^TestReceiverUnderAFlood$", "-test.v")
			cmd.Env = append(os.Environ(), "SPOTDRILL_FLOOD="+flood)
			out, err := cmd.CombinedOutput()
			t.Log(string(out))
			require.NoError(t, err)
		})
	}
}

func runFlood(t *testing.T, flood string) {
	r := newRealRun(t)
	rcv := telemetry.NewReceiver(r.corr, telemetry.ReceiverOptions{})
	srv, err := rcv.Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer srv.Close(t.Context())
	body := gzipBomb(t)
	if flood == "batches" {
		// Three batches in one request: 1,536 spans, about 15 KB gzipped.
		body = gzipped(t, bytes.Repeat(workerBatch(t), 3))
	}
	require.Less(t, len(body), 20<<10)
	before := peakRSS(t)

	const clients = 300
	tr := &http.Transport{MaxConnsPerHost: clients, MaxIdleConnsPerHost: clients}
	client := &http.Client{Transport: tr, Timeout: time.Minute}
	statuses := make(chan int, clients)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, err := http.NewRequest(http.MethodPost, "http://"+srv.Addr()+telemetry.TracesPath, bytes.NewReader(body))
			if err != nil {
				statuses <- -1
				return
			}
			req.Header.Set("Content-Type", "application/x-protobuf")
			req.Header.Set("Content-Encoding", "gzip")
			resp, err := client.Do(req)
			if err != nil {
				statuses <- -1
				return
			}
			if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
				statuses <- -2
			} else {
				statuses <- resp.StatusCode
			}
			resp.Body.Close()
		}()
	}
	close(start)
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	peak := peakRSS(t)
	t.Logf("%s of %d KB: answers %v; peak RSS %d MiB (%d MiB before the flood)", flood, len(body)>>10, counts, peak>>20, before>>20)
	for s, n := range counts {
		require.Contains(t, []int{200, 400, 413, 429}, s, "%d requests answered %d", n, s)
	}
	if flood == "bombs" {
		require.Positive(t, counts[429], "the flood is held back")
	}
	if !raceEnabled { // the race detector multiplies memory
		require.Less(t, peak, int64(300<<20), "peak RSS under the flood")
	}
}

// TestReceiverLimits: too many spans in one request is a 413, a span name
// or a JSON request that is not UTF-8 a 400, as docs/telemetry.md says.
func TestReceiverLimits(t *testing.T) {
	r := newRealRun(t)
	srv := httptest.NewServer(telemetry.NewReceiver(r.corr, telemetry.ReceiverOptions{MaxSpans: 100}))
	defer srv.Close()
	post := func(ct string, body []byte) int {
		resp, err := http.Post(srv.URL+telemetry.TracesPath, ct, bytes.NewReader(body))
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusRequestEntityTooLarge, post("application/x-protobuf", workerBatch(t)), "512 spans over a limit of 100")

	// proto.Marshal refuses bad UTF-8: marshal a marker and spoil it.
	span := &tracepb.Span{TraceId: bytes.Repeat([]byte{1}, 16), SpanId: bytes.Repeat([]byte{2}, 8), Name: "bad MARK name"}
	req := &collectorpb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{span}}}}}}
	raw, err := proto.Marshal(req)
	require.NoError(t, err)
	raw = bytes.Replace(raw, []byte("MARK"), []byte("\xff\xfe\xfd\xfc"), 1)
	require.Equal(t, http.StatusBadRequest, post("application/x-protobuf", raw))
	require.Equal(t, http.StatusBadRequest, post("application/json", []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"bad `+"\xff"+`"}]}]}]}`)))
	require.Equal(t, http.StatusOK, post("application/json", []byte(`{"resourceSpans":[]}`)))
}
