// Command drain-handler is an example of what runs on an Azure Spot VM to
// survive its eviction: it watches the VM's Scheduled Events, and on a
// Preempt notice it drains the VM's work (here: runs a command, or waits a
// while), then acknowledges the event so that Azure proceeds at once
// instead of waiting for NotBefore.
//
// It speaks only the documented IMDS protocol, so the same binary runs on
// a VM (the default endpoint, 169.254.169.254) and against spotdrill's
// emulator, where each VM's IMDS is under /vms/<vm name>:
//
//	spotdrill emulate --scenario fleet.yaml --listen 127.0.0.1:8080
//	drain-handler -imds http://127.0.0.1:8080/vms/batch-spot_3 -drain-cmd './drain.sh'
//
// It depends on nothing but the standard library: copy it.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

// config is the handler's flags.
type config struct {
	imds      string        // base URL of IMDS
	vm        string        // this VM's name; read from IMDS if empty
	interval  time.Duration // between polls
	drainTime time.Duration // how long the stand-in drain takes
	drainCmd  string        // the real drain, run with sh -c
}

func main() {
	var cfg config
	flag.StringVar(&cfg.imds, "imds", "http://169.254.169.254", "base URL of the Instance Metadata Service (the emulator's: http://HOST:PORT/vms/VM)")
	flag.StringVar(&cfg.vm, "vm", "", "this VM's name, to pick its events (default: read from IMDS)")
	flag.DurationVar(&cfg.interval, "interval", time.Second, "how often to poll Scheduled Events (Azure recommends every second)")
	flag.DurationVar(&cfg.drainTime, "drain-time", 10*time.Second, "without -drain-cmd: how long draining takes")
	flag.StringVar(&cfg.drainCmd, "drain-cmd", "", "command that drains the VM (run with sh -c; it gets until NotBefore)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := log.New(os.Stderr, "drain-handler: ", log.LstdFlags|log.Lmicroseconds)
	if err := run(ctx, cfg, logger); err != nil && !errors.Is(err, context.Canceled) {
		logger.Fatal(err)
	}
}

// document is the Scheduled Events payload (api-version 2020-07-01).
type document struct {
	DocumentIncarnation int     `json:"DocumentIncarnation"`
	Events              []event `json:"Events"`
}

type event struct {
	EventID     string   `json:"EventId"`
	EventType   string   `json:"EventType"`
	Resources   []string `json:"Resources"`
	EventStatus string   `json:"EventStatus"`
	NotBefore   string   `json:"NotBefore"`
}

// imds talks to the Instance Metadata Service: never through a proxy, and
// always with the Metadata header.
type imds struct {
	base   string
	client *http.Client
}

func newIMDS(base string) *imds {
	return &imds{base: strings.TrimRight(base, "/"), client: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil}}}
}

func (m *imds) do(ctx context.Context, method, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, m.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Metadata", "true")
	resp, err := m.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s %s", method, path, resp.Status, strings.TrimSpace(string(raw)))
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

func (m *imds) vmName(ctx context.Context) (string, error) {
	var compute struct {
		Name string `json:"name"`
	}
	err := m.do(ctx, http.MethodGet, "/metadata/instance/compute?api-version=2021-02-01&format=json", nil, &compute)
	return compute.Name, err
}

func (m *imds) events(ctx context.Context) (document, error) {
	var d document
	err := m.do(ctx, http.MethodGet, "/metadata/scheduledevents?api-version=2020-07-01", nil, &d)
	return d, err
}

func (m *imds) acknowledge(ctx context.Context, id string) error {
	body, _ := json.Marshal(map[string][]map[string]string{"StartRequests": {{"EventId": id}}})
	return m.do(ctx, http.MethodPost, "/metadata/scheduledevents?api-version=2020-07-01", body, nil)
}

// run watches until a Preempt (or Terminate) for this VM arrives, drains,
// acknowledges, and returns: the VM is about to stop.
func run(ctx context.Context, cfg config, logger *log.Logger) error {
	m := newIMDS(cfg.imds)
	vm := cfg.vm
	if vm == "" {
		name, err := m.vmName(ctx)
		if err != nil {
			return fmt.Errorf("read this VM's name from IMDS: %w", err)
		}
		vm = name
	}
	logger.Printf("watching Scheduled Events of %s at %s every %s", vm, cfg.imds, cfg.interval)
	e, err := watch(ctx, m, vm, cfg.interval, logger)
	if err != nil {
		return err
	}
	notBefore, _ := time.Parse(http.TimeFormat, e.NotBefore)
	logger.Printf("%s %s for %s, NotBefore %s (%s from now)", e.EventType, e.EventID, vm, e.NotBefore, time.Until(notBefore).Round(time.Second))
	began := time.Now()
	if err := drain(ctx, cfg, notBefore, logger); err != nil {
		logger.Printf("drain failed after %s: %v; acknowledging anyway, the VM goes regardless", time.Since(began).Round(time.Millisecond), err)
	} else {
		logger.Printf("drained in %s", time.Since(began).Round(time.Millisecond))
	}
	if err := m.acknowledge(ctx, e.EventID); err != nil {
		return fmt.Errorf("acknowledge %s (the eviction may have landed already): %w", e.EventID, err)
	}
	logger.Printf("acknowledged %s: Azure may stop the VM now", e.EventID)
	return nil
}

// watch polls until an event that stops this VM is scheduled. Failed polls
// are logged and retried: IMDS's first answer can take a while.
func watch(ctx context.Context, m *imds, vm string, every time.Duration, logger *log.Logger) (event, error) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		d, err := m.events(ctx)
		if err != nil && ctx.Err() == nil {
			logger.Printf("poll failed: %v", err)
		}
		for _, e := range d.Events {
			// Events of a placement group are broadcast: keep this VM's.
			if (e.EventType == "Preempt" || e.EventType == "Terminate") && e.EventStatus == "Scheduled" &&
				(len(e.Resources) == 0 || slices.ContainsFunc(e.Resources, func(r string) bool { return strings.EqualFold(r, vm) })) {
				return e, nil
			}
		}
		select {
		case <-ctx.Done():
			return event{}, ctx.Err()
		case <-t.C:
		}
	}
}

// drain runs the drain command until NotBefore, or stands in for one.
func drain(ctx context.Context, cfg config, notBefore time.Time, logger *log.Logger) error {
	if cfg.drainCmd == "" {
		logger.Printf("draining (a stand-in that takes %s)", cfg.drainTime)
		select {
		case <-time.After(cfg.drainTime):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if !notBefore.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, notBefore)
		defer cancel()
	}
	logger.Printf("draining: sh -c %q", cfg.drainCmd)
	cmd := exec.CommandContext(ctx, "sh", "-c", cfg.drainCmd)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}
