// Package azure is the injector for real Azure Spot VMs: it discovers
// standalone VMs, Flexible scale-set VMs and Uniform scale-set instances
// through armcompute v7, calls simulateEviction on them at a pace Azure
// accepts, and observes their power states to timestamp evictions and
// replacements.
//
// Everything goes through the official SDK clients, so the SDK's fake
// servers (armcompute/v7/fake) and a loopback emulator exercise the same
// code a game day runs.
package azure

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
)

// Clouds that --cloud accepts (case-insensitive; the Azure CLI's names
// AzureCloud, AzureChinaCloud and AzureUSGovernment work too).
const (
	CloudPublic     = "AzurePublic"
	CloudChina      = "AzureChina"
	CloudGovernment = "AzureGovernment"
)

// Retry defaults. Azure answers a throttled call with 429 and Retry-After
// in seconds; ARM's write bucket refills in well under a minute, so a
// Retry-After up to a minute is waited out and a longer one is reported.
const (
	DefaultMaxRetries    = 6
	DefaultRetryDelay    = time.Second
	DefaultMaxRetryAfter = time.Minute
)

// Options connect to Azure Resource Manager and pace simulateEviction. The
// zero value is what a game day against public Azure uses.
type Options struct {
	// Credential authenticates. Nil means azidentity's
	// DefaultAzureCredential (environment, workload identity, managed
	// identity, Azure CLI, ...), or no credential at all for an http://
	// loopback ARMEndpoint (the emulator).
	Credential azcore.TokenCredential
	// Cloud is AzurePublic (default), AzureChina or AzureGovernment.
	Cloud string
	// ARMEndpoint replaces the cloud's Resource Manager endpoint, such as
	// http://127.0.0.1:8443 for the emulator. Plain http is accepted only
	// for loopback hosts, so a bearer token never crosses a network in
	// clear text.
	ARMEndpoint string
	// ARMAudience is the token audience for a custom ARMEndpoint; default
	// the cloud's Resource Manager audience.
	ARMAudience string
	// Transport replaces the HTTP client, for the SDK's fake servers.
	Transport policy.Transporter

	// Rate and Burst pace simulateEviction requests, retries included (a
	// token bucket, per client). Defaults DefaultRate and DefaultBurst.
	Rate  float64
	Burst int
	// Concurrency bounds calls in flight in SimulateEvictions. Default
	// DefaultConcurrency.
	Concurrency int
	// MaxRetries is how many times a 408, 429 or 5xx answer is retried.
	// Default DefaultMaxRetries; negative disables retries.
	MaxRetries int
	// RetryDelay is the base of the exponential backoff when Azure gives
	// no Retry-After. Default DefaultRetryDelay.
	RetryDelay time.Duration
	// MaxRetryAfter is the longest Retry-After waited out; a longer one
	// ends the call with TooManyRequests. Default DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
	// Clock paces calls; default the wall clock.
	Clock Clock
}

func (o Options) withDefaults() Options {
	if o.Rate == 0 {
		o.Rate = DefaultRate
	}
	if o.Burst == 0 {
		o.Burst = DefaultBurst
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = DefaultMaxRetries
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = DefaultRetryDelay
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	return o
}

// Client holds the armcompute clients of one subscription, and the pace
// of its simulateEviction calls.
type Client struct {
	sub    string
	vms    *armcompute.VirtualMachinesClient
	sets   *armcompute.VirtualMachineScaleSetsClient
	setVMs *armcompute.VirtualMachineScaleSetVMsClient
	// arm sends the requests armcompute has no client for: the lease tag.
	arm   *arm.Client
	pacer *Pacer
	conc  int
	clock Clock
}

// NewClient connects to a subscription. It makes no call: a bad credential
// shows on the first listing.
func NewClient(subscription string, o Options) (*Client, error) {
	if strings.TrimSpace(subscription) == "" {
		return nil, errors.New("azure: no subscription (expected target.azure.subscription, such as ${AZURE_SUBSCRIPTION_ID})")
	}
	o = o.withDefaults()
	pacer, err := NewPacer(o.Rate, o.Burst, o.Clock)
	if err != nil {
		return nil, fmt.Errorf("azure: %w", err)
	}
	copts, loopbackHTTP, err := armOptions(o, pacer)
	if err != nil {
		return nil, err
	}
	cred := o.Credential
	if cred == nil && !loopbackHTTP {
		dac, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{
			ClientOptions: azcore.ClientOptions{Cloud: copts.Cloud, Transport: o.Transport},
		})
		if err != nil {
			return nil, fmt.Errorf("azure: credential: %w", err)
		}
		cred = dac
	}
	f, err := armcompute.NewClientFactory(subscription, cred, copts)
	if err != nil {
		return nil, fmt.Errorf("azure: %w", err)
	}
	ac, err := arm.NewClient("spotdrill", "v1.0.0", cred, copts)
	if err != nil {
		return nil, fmt.Errorf("azure: %w", err)
	}
	return &Client{
		sub: subscription, vms: f.NewVirtualMachinesClient(), sets: f.NewVirtualMachineScaleSetsClient(),
		setVMs: f.NewVirtualMachineScaleSetVMsClient(), arm: ac, pacer: pacer, conc: o.Concurrency, clock: o.Clock,
	}, nil
}

// Subscription is the subscription the client works in.
func (c *Client) Subscription() string { return c.sub }

// armOptions builds the SDK's client options: the cloud, the endpoint, the
// retry policy, and the policy that paces and records each attempt.
// loopbackHTTP tells whether the endpoint is the emulator over plain http.
func armOptions(o Options, pacer *Pacer) (*arm.ClientOptions, bool, error) {
	cfg, err := cloudConfig(o.Cloud)
	if err != nil {
		return nil, false, err
	}
	loopbackHTTP := false
	if o.ARMEndpoint != "" {
		ep, isHTTP, err := checkEndpoint(o.ARMEndpoint)
		if err != nil {
			return nil, false, err
		}
		loopbackHTTP = isHTTP
		aud := o.ARMAudience
		if aud == "" {
			aud = cfg.Services[cloud.ResourceManager].Audience
		}
		// cloud.AzurePublic and its siblings are package variables: copy
		// the map before changing it.
		services := make(map[cloud.ServiceName]cloud.ServiceConfiguration, len(cfg.Services)+1)
		for k, v := range cfg.Services {
			services[k] = v
		}
		services[cloud.ResourceManager] = cloud.ServiceConfiguration{Endpoint: ep, Audience: aud}
		cfg = cloud.Configuration{ActiveDirectoryAuthorityHost: cfg.ActiveDirectoryAuthorityHost, Services: services}
	}
	retry := policy.RetryOptions{
		MaxRetries: int32(o.MaxRetries), RetryDelay: o.RetryDelay, MaxRetryDelay: o.MaxRetryAfter,
		// The default list: 408, 429, 500, 502, 503, 504. Spelled out so
		// that a change of azcore's default does not change what is retried.
		StatusCodes: []int{408, 429, 500, 502, 503, 504},
	}
	return &arm.ClientOptions{
		ClientOptions: azcore.ClientOptions{
			Cloud: cfg, Retry: retry, Transport: o.Transport,
			PerRetryPolicies:                []policy.Policy{attemptPolicy{pacer: pacer}},
			InsecureAllowCredentialWithHTTP: loopbackHTTP,
		},
		// Registering Microsoft.Compute needs */register/action, which the
		// least-privilege role does not grant, and the emulator cannot do
		// it over http; a subscription with VMs has it registered already.
		DisableRPRegistration: true,
	}, loopbackHTTP, nil
}

func cloudConfig(name string) (cloud.Configuration, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", "azurepublic", "azurecloud", "public":
		return cloud.AzurePublic, nil
	case "azurechina", "azurechinacloud", "china":
		return cloud.AzureChina, nil
	case "azuregovernment", "azureusgovernment", "usgovernment":
		return cloud.AzureGovernment, nil
	}
	return cloud.Configuration{}, fmt.Errorf("azure: cloud %q is not known (expected %s, %s or %s)", name, CloudPublic, CloudChina, CloudGovernment)
}

// checkEndpoint accepts https anywhere and http on loopback only.
func checkEndpoint(raw string) (endpoint string, loopbackHTTP bool, err error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", false, fmt.Errorf("azure: ARM endpoint %q is not a URL (expected https://host or http://127.0.0.1:port)", raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return "", false, fmt.Errorf("azure: ARM endpoint %q uses plain http to a host that is not loopback; tokens would travel in clear text (expected https, or http://127.0.0.1)", raw)
		}
		loopbackHTTP = true
	default:
		return "", false, fmt.Errorf("azure: ARM endpoint %q: scheme %q is not supported (expected https, or http on loopback)", raw, u.Scheme)
	}
	return strings.TrimRight(u.String(), "/"), loopbackHTTP, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
