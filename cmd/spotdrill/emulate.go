package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/spotdrill/spotdrill/internal/emulator"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/scenarios"
)

// EmulateOptions are the flags of `spotdrill emulate`.
type EmulateOptions struct {
	IO            *IOStreams
	Scenario      string
	Listen        string
	Speed         float64
	TLS           bool
	CertOut       string
	Journal       string
	Subscription  string
	ResourceGroup string
	Standalone    []string
	PageSize      int
	NoThrottle    bool
	Seed          int64
	SeedSet       bool
	// ready, when set, hears the base URL once the emulator serves; the
	// tests use it instead of reading the banner.
	ready func(url string)
}

// NewCmdEmulate serves the local Azure emulator. runF replaces the
// emulator in tests of the flags.
func NewCmdEmulate(ios *IOStreams, runF func(*EmulateOptions) error) *cobra.Command {
	opts := &EmulateOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "emulate --scenario FILE",
		Short: "Serve a scenario's simulated fleet as a local Azure: Resource Manager and Scheduled Events",
		Long: `Emulate serves the simulated Spot fleet of a scenario over HTTP, as a
local Azure: the Resource Manager API that lists VMs, scale sets and their
instance views and calls simulateEviction (with Azure's JSON, paging,
errors and throttling), and each VM's Scheduled Events as IMDS serves them
(GET the document, POST StartRequests). Drain handlers and automation are
tested against it offline; spotdrill's own Azure provider reaches it with
--arm-endpoint.

Each pool is a Uniform scale set named after it (instances <pool>_0,
<pool>_1, ...) unless --standalone names it; VM <name>'s Scheduled Events
are at /vms/<name>/metadata/scheduledevents. The fleet runs on a clock:
--speed 1 is real time (a 30 s notice takes 30 s), --speed 60 a minute per
second. It listens on loopback unless --listen says otherwise, and runs
until interrupted; it then prints what each drain handler did with its
Preempt events and exits 3 if one acknowledged late or never.

See docs/emulator.md.`,
		Example: `  spotdrill emulate --scenario scenarios/library/batch-checkpointed.yaml --listen 127.0.0.1:8080
  spotdrill emulate --scenario fleet.yaml --speed 60 --standalone render --journal emulator.jsonl
  spotdrill emulate --scenario fleet.yaml --tls --cert-out emulator.pem`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.SeedSet = cmd.Flags().Changed("seed")
			if runF != nil {
				return runF(opts)
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			// The first signal stops the emulator; a second one, during
			// the shutdown, exits at once.
			go func() {
				<-ctx.Done()
				stop()
			}()
			return emulateRun(ctx, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Scenario, "scenario", "", "scenario whose fleet to serve (provider sim)")
	f.StringVar(&opts.Listen, "listen", "127.0.0.1:0", "address to listen on; port 0 picks a free one")
	f.Float64Var(&opts.Speed, "speed", 1, "virtual seconds per wall second: 1 is real time")
	f.BoolVar(&opts.TLS, "tls", false, "serve HTTPS with a self-signed certificate (needs --cert-out)")
	f.StringVar(&opts.CertOut, "cert-out", "", "with --tls: where to write the certificate (PEM) for clients to trust")
	f.StringVar(&opts.Journal, "journal", "", "write the emulated fleet's journal here (spotdrill report reads it)")
	f.StringVar(&opts.Subscription, "subscription", emulator.DefaultSubscription, "the emulated subscription's ID")
	f.StringVar(&opts.ResourceGroup, "resource-group", emulator.DefaultResourceGroup, "the resource group holding every VM")
	f.StringSliceVar(&opts.Standalone, "standalone", nil, "pools served as standalone VMs rather than Uniform scale sets")
	f.IntVar(&opts.PageSize, "page-size", emulator.DefaultPageSize, "items per page of a listing")
	f.BoolVar(&opts.NoThrottle, "no-throttle", false, "serve every request: no 429s from Azure's rate limits")
	f.Int64Var(&opts.Seed, "seed", 0, "random seed (default: the scenario's seed)")
	return cmd
}

func (o *EmulateOptions) check() error {
	switch {
	case o.Scenario == "":
		return errors.New("--scenario FILE is required: the scenario whose fleet to serve")
	case o.Speed <= 0:
		return fmt.Errorf("--speed %g: expected a positive number (1 is real time)", o.Speed)
	case o.TLS && o.CertOut == "":
		return errors.New("--tls needs --cert-out FILE, where clients find the certificate to trust")
	case !o.TLS && o.CertOut != "":
		return errors.New("--cert-out is only for --tls")
	case o.PageSize <= 0:
		return fmt.Errorf("--page-size %d: expected a positive number", o.PageSize)
	}
	return nil
}

// emulateRun serves until ctx ends (the first SIGINT or SIGTERM), then
// closes the journal and reports the drains.
func emulateRun(ctx context.Context, opts *EmulateOptions) error {
	if err := opts.check(); err != nil {
		return withCode(ExitInvalid, err)
	}
	sc, _, err := loadScenario(opts.Scenario)
	if err != nil {
		return withCode(ExitInvalid, err)
	}
	if sc.Fleet == nil {
		return withCode(ExitInvalid, fmt.Errorf("%s: the emulator serves a simulated fleet: the scenario needs a fleet section (provider sim)", opts.Scenario))
	}
	if opts.SeedSet {
		sc.Seed = opts.Seed
	}
	jw, closeJournal, err := openEmulatorJournal(opts.Journal)
	if err != nil {
		return withCode(ExitInternal, err)
	}
	emu, err := emulator.New(sc, emulatorOptions(opts, jw))
	if err != nil {
		closeJournal()
		return withCode(ExitInvalid, err)
	}
	ln, url, err := listen(opts)
	if err != nil {
		closeJournal()
		return err
	}
	drains, serveErr := serve(ctx, opts, sc, emu, ln, url)
	if err := closeJournal(); err != nil && serveErr == nil {
		serveErr = err
	}
	if serveErr != nil {
		return withCode(ExitInternal, serveErr)
	}
	if late := writeDrains(opts.IO.Out, drains, opts.Speed); late > 0 {
		return withCode(ExitSLO, fmt.Errorf("%d Preempt events were acknowledged late or never by a drain handler that saw them", late))
	}
	return nil
}

func emulatorOptions(opts *EmulateOptions, jw journal.Sink) emulator.Options {
	o := emulator.Options{Subscription: opts.Subscription, ResourceGroup: opts.ResourceGroup, Standalone: opts.Standalone,
		Speed: opts.Speed, PageSize: opts.PageSize, Journal: jw, Tool: "spotdrill " + Version}
	if opts.NoThrottle {
		o.Limits = &emulator.Limits{Off: true}
	}
	return o
}

// openEmulatorJournal opens the journal file, if asked for one; the
// returned func flushes and closes it.
func openEmulatorJournal(path string) (journal.Sink, func() error, error) {
	if path == "" {
		return nil, func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, fmt.Errorf("journal: %w", err)
	}
	w := journal.NewWriter(f)
	return journal.NewBus(w), func() error {
		werr := w.Close()
		if err := f.Close(); err != nil && werr == nil {
			werr = err
		}
		if werr != nil {
			return fmt.Errorf("journal: %w", werr)
		}
		return nil
	}, nil
}

// listen opens the listener, with TLS and its certificate written out
// when asked, and returns the base URL clients use.
func listen(opts *EmulateOptions) (net.Listener, string, error) {
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return nil, "", withCode(ExitInternal, fmt.Errorf("--listen %s: %w", opts.Listen, err))
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		fmt.Fprintf(opts.IO.Err, "spotdrill: warning: listening on %s, not loopback: anyone who reaches it can evict the emulated fleet\n", ln.Addr())
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	scheme := "http"
	if opts.TLS {
		reqHost, _, _ := net.SplitHostPort(opts.Listen)
		cert, pemBytes, err := emulator.SelfSigned(time.Now(), reqHost, host)
		if err == nil {
			err = os.WriteFile(opts.CertOut, pemBytes, 0o644)
		}
		if err != nil {
			ln.Close()
			return nil, "", withCode(ExitInternal, fmt.Errorf("--cert-out: %w", err))
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		scheme = "https"
	}
	return ln, scheme + "://" + net.JoinHostPort(host, port), nil
}

// serve runs the emulator's clock and HTTP server until ctx ends or the
// server fails.
func serve(ctx context.Context, opts *EmulateOptions, sc *scenarios.Scenario, emu *emulator.Emulator, ln net.Listener, url string) ([]emulator.Drain, error) {
	srv := emu.Server()
	emu.Start()
	writeBanner(opts.IO.Out, opts, sc, emu, url)
	if opts.ready != nil {
		opts.ready(url)
	}
	clock, stopClock := context.WithCancel(ctx)
	defer stopClock()
	go emu.Run(clock)
	failed := make(chan error, 1)
	go func() { failed <- srv.Serve(ln) }()
	var err error
	select {
	case <-ctx.Done():
		fmt.Fprintln(opts.IO.Err, "\nspotdrill: stopping the emulator")
	case err = <-failed:
		err = fmt.Errorf("serve: %w", err)
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if serr := srv.Shutdown(shutdown); serr != nil && err == nil && !errors.Is(serr, context.DeadlineExceeded) {
		err = fmt.Errorf("shut down: %w", serr)
	}
	stopClock()
	return emu.Close(), err
}

// writeBanner says where everything is. Its first line names the URL, for
// scripts that start the emulator in the background.
func writeBanner(w io.Writer, opts *EmulateOptions, sc *scenarios.Scenario, emu *emulator.Emulator, url string) {
	fmt.Fprintf(w, "spotdrill emulator listening on %s\n\n", url)
	fmt.Fprintf(w, "  scenario           %s · seed %d · speed ×%g", sc.Metadata.Name, sc.Seed, opts.Speed)
	if notice := sc.Fleet.Notice.D(); notice > 0 && opts.Speed != 1 {
		fmt.Fprintf(w, " (a %s notice takes %s)", scenarios.FormatDuration(notice), time.Duration(float64(notice)/opts.Speed).Round(time.Millisecond))
	}
	fmt.Fprintf(w, "\n  Resource Manager   %s\n", url)
	fmt.Fprintf(w, "    subscription     %s\n", emu.Subscription())
	fmt.Fprintf(w, "    resource group   %s\n", emu.ResourceGroup())
	fmt.Fprintf(w, "  Scheduled Events   %s/vms/{vm}/metadata/scheduledevents?api-version=2020-07-01\n", url)
	fmt.Fprintf(w, "  Status             %s/emulator\n", url)
	if opts.CertOut != "" {
		fmt.Fprintf(w, "  Certificate        %s\n", opts.CertOut)
	}
	if opts.Journal != "" {
		fmt.Fprintf(w, "  Journal            %s\n", opts.Journal)
	}
	fmt.Fprintln(w)
	for _, g := range groupVMs(emu.VMs()) {
		fmt.Fprintf(w, "  %-30s %2d %-8s %s\n", g.title, g.count, g.priority, g.names)
	}
	fmt.Fprintf(w, "\nSDK, curl and drain-handler recipes: docs/emulator.md. Ctrl-C stops it.\n")
}

type vmGroup struct {
	title, priority, names string
	count                  int
}

// groupVMs summarises the fleet by pool: its kind, size and names.
func groupVMs(vms []emulator.VM) []vmGroup {
	var out []vmGroup
	index := map[string]int{}
	var first, last []string
	for _, v := range vms {
		i, ok := index[v.Pool]
		if !ok {
			title := "scale set " + v.Pool
			if v.Kind == emulator.KindStandalone {
				title = "VMs of pool " + v.Pool
			}
			i = len(out)
			index[v.Pool] = i
			out = append(out, vmGroup{title: title, priority: v.Priority})
			first, last = append(first, v.Name), append(last, "")
		}
		out[i].count++
		last[i] = v.Name
	}
	for i := range out {
		out[i].names = first[i]
		if out[i].count > 1 {
			out[i].names += " … " + last[i]
		}
	}
	return out
}

// writeDrains prints what each drain handler did with its Preempt events
// and returns how many it saw and acknowledged late or never.
func writeDrains(w io.Writer, drains []emulator.Drain, speed float64) int {
	if len(drains) == 0 {
		fmt.Fprintln(w, "Scheduled Events: no Preempt event was given.")
		return 0
	}
	watched, late := 0, 0
	for _, d := range drains {
		if d.Watched() {
			watched++
		}
	}
	unit := "seconds"
	if speed != 1 {
		unit = fmt.Sprintf("virtual seconds (÷%g for wall time)", speed)
	}
	fmt.Fprintf(w, "Scheduled Events: %d Preempt events, %d read by a drain handler; times in %s\n", len(drains), watched, unit)
	for _, d := range drains {
		notice := d.NotBefore - d.Noticed
		took, acked := d.DrainTime()
		switch {
		case d.InTime():
			fmt.Fprintf(w, "  ✓ %-24s acknowledged %.1fs after the notice, %.1fs of %.1fs to spare\n", d.VM, took, notice-took, notice)
		case acked:
			late++
			fmt.Fprintf(w, "  ✗ %-24s acknowledged %.1fs after the notice: %.1fs after NotBefore (F2: drain slower than the notice)\n", d.VM, took, took-notice)
		case d.Watched() && d.Landed != nil:
			late++
			fmt.Fprintf(w, "  ✗ %-24s seen %.1fs after the notice, never acknowledged: evicted with the drain unfinished (F2)\n", d.VM, *d.Seen-d.Noticed)
		case d.Watched():
			fmt.Fprintf(w, "  … %-24s seen, not acknowledged yet, eviction pending\n", d.VM)
		default:
			fmt.Fprintf(w, "  · %-24s not read by any drain handler\n", d.VM)
		}
	}
	return late
}
