# spotdrill: build, test and benchmark. Everything the targets need is
# installed here, from the Go module proxy, at pinned versions.

GO            ?= go
BIN           := $(CURDIR)/bin
STATICCHECK   := $(BIN)/staticcheck
STATICCHECK_VERSION := v0.8.2
# telemetrygen, the OpenTelemetry Collector's load generator, sends OTLP to
# the receiver in its tests.
TELEMETRYGEN  := $(BIN)/telemetrygen
TELEMETRYGEN_VERSION := v0.161.0
SCENARIO      ?= scenarios/library/batch-checkpointed.yaml
PKGS          := ./...

.PHONY: all build test tools fmt-check vet lint unit bench bench-large perf run fuzz schema clean

all: build

build:
	$(GO) build -o $(BIN)/spotdrill ./cmd/spotdrill

## test: everything CI runs: formatting, vet, lint and the race-enabled tests.
test: fmt-check vet lint unit

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

$(STATICCHECK):
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

lint: $(STATICCHECK)
	$(STATICCHECK) $(PKGS)

$(TELEMETRYGEN):
	GOBIN=$(BIN) $(GO) install github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen@$(TELEMETRYGEN_VERSION)

## tools: the programs the tests drive, at pinned versions, in bin/.
tools: $(STATICCHECK) $(TELEMETRYGEN)

unit: $(TELEMETRYGEN)
	$(GO) test -race -timeout 20m $(PKGS)

## bench: the benchmarks of the issue figures (simulator, reports).
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

## perf: the performance table: the simulator against the bare event loop
## (one core, same session), and the end-to-end rows with the real binary
## (wall time and peak RSS of the process). Takes about a minute.
PERF_OUT := $(BIN)/perf.txt
perf:
	@mkdir -p $(BIN)
	GOMAXPROCS=1 $(GO) test ./internal/sim -run '^$$' -bench 'EventLoopFloor$$' -count 3 > $(PERF_OUT)
	GOMAXPROCS=1 $(GO) test ./experiments -run '^$$' -bench 'SimLarge$$' -benchtime 1x -count 3 >> $(PERF_OUT)
	$(GO) test ./cmd/spotdrill -run '^$$' -bench 'EndToEnd' -benchtime 1x >> $(PERF_OUT)
	@awk -f .ci/perf-table.awk $(PERF_OUT)

## run: a game day on the simulated fleet.
run:
	$(GO) run ./cmd/spotdrill run $(SCENARIO)

## fuzz: a minute on each parser.
FUZZ := -run '^$$' -fuzztime 60s -fuzzminimizetime 2s
fuzz:
	$(GO) test ./scenarios $(FUZZ) -fuzz FuzzParse
	$(GO) test ./journal $(FUZZ) -fuzz FuzzDecodeEvent
	$(GO) test ./internal/telemetry $(FUZZ) -fuzz FuzzDecodeProto
	$(GO) test ./internal/telemetry $(FUZZ) -fuzz FuzzDecodeJSON

## schema: regenerate the scenario JSON Schema after changing the types.
schema:
	$(GO) test ./scenarios -run TestSchema -update

clean:
	rm -rf $(BIN) runs
