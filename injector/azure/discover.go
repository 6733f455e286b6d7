package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"

	"github.com/spotdrill/spotdrill/injector"
)

// Kind says which API a VM is reached through.
type Kind string

// Kinds of VM.
const (
	// KindStandalone is a VM outside any scale set.
	KindStandalone Kind = "standalone"
	// KindFlexible is a VM of a Flexible scale set: a VM in its own right,
	// with its own priority (Flexible scale sets may mix Spot and Regular).
	KindFlexible Kind = "flexible"
	// KindUniform is an instance of a Uniform scale set (AKS node pools);
	// its priority and eviction policy are the scale set's.
	KindUniform Kind = "uniform"
)

// PoolStandalone is the pool of VMs outside any scale set.
const PoolStandalone = "standalone"

// VM is one virtual machine or scale-set instance as discovered.
type VM struct {
	// ID is the ARM resource ID, as Azure spells it.
	ID            string `json:"id"`
	Name          string `json:"name"`
	ResourceGroup string `json:"resourceGroup"`
	Kind          Kind   `json:"kind"`
	ScaleSet      string `json:"scaleSet,omitempty"`
	// ScaleSetID and ScaleSetTags are the scale set's own resource ID and
	// tags: an exemption on the set covers every instance.
	ScaleSetID     string            `json:"scaleSetId,omitempty"`
	ScaleSetTags   map[string]string `json:"scaleSetTags,omitempty"`
	Location       string            `json:"location,omitempty"`
	Zone           string            `json:"zone,omitempty"`
	Priority       string            `json:"priority"`
	EvictionPolicy string            `json:"evictionPolicy,omitempty"`
	// MaxPrice is the Spot price cap in USD/hour; -1 caps at on-demand.
	MaxPrice *float64          `json:"maxPrice,omitempty"`
	Tags     map[string]string `json:"tags,omitempty"`
	// PowerState is Azure's, without "PowerState/": running, deallocated,
	// ...; empty when unknown.
	PowerState        string    `json:"powerState,omitempty"`
	ProvisioningState string    `json:"provisioningState,omitempty"`
	Created           time.Time `json:"created,omitzero"`
}

// Pool groups VMs for wave selections and blast-radius shares: the scale
// set's name, or PoolStandalone.
func (v VM) Pool() string {
	if v.ScaleSet != "" {
		return v.ScaleSet
	}
	return PoolStandalone
}

// Spot reports whether Azure may evict the VM.
func (v VM) Spot() bool { return v.Priority == injector.PrioritySpot }

// State is the runner's view of the power state.
func (v VM) State() string {
	switch v.PowerState {
	case "running":
		return injector.StateRunning
	case "starting":
		return injector.StateProvisioning
	case "stopping", "stopped", "deallocating", "deallocated":
		return injector.StateEvicted
	case "":
		if strings.EqualFold(v.ProvisioningState, "creating") {
			return injector.StateProvisioning
		}
		return "unknown"
	}
	return v.PowerState
}

// Target is the VM as the runner and the guard see it.
func (v VM) Target() injector.Target {
	return injector.Target{ID: v.ID, Name: v.Name, Pool: v.Pool(), Zone: v.Zone, Priority: v.Priority,
		EvictionPolicy: v.EvictionPolicy, Tags: v.Tags, PoolID: v.ScaleSetID, PoolTags: v.ScaleSetTags, State: v.State()}
}

// ScaleSet is a scale set as discovered: the Spot settings of its
// instances, for a Uniform one.
type ScaleSet struct {
	ID             string
	Name           string
	ResourceGroup  string
	Uniform        bool
	Priority       string
	EvictionPolicy string
	MaxPrice       *float64
	Tags           map[string]string
}

// Key identifies a resource case-insensitively, as Azure does.
func Key(id string) string { return strings.ToLower(id) }

// Fleet is what one discovery found.
type Fleet struct {
	VMs       []VM
	ScaleSets []ScaleSet
}

// Discover lists the VMs of the resource groups (the whole subscription
// when groups is empty): standalone and Flexible VMs through the VM API,
// and the instances of the Uniform scale sets that want accepts (all when
// want is nil), each with its power state. It selects nothing:
// Selector.Match says which VMs a scenario targets and why the others are
// left out.
func (c *Client) Discover(ctx context.Context, groups []string, want func(*ScaleSet) bool) (*Fleet, error) {
	sets, err := c.ListScaleSets(ctx, groups)
	if err != nil {
		return nil, err
	}
	vms, err := c.ListVMs(ctx, groups, sets)
	if err != nil {
		return nil, err
	}
	power, err := c.PowerStates(ctx)
	if err != nil {
		return nil, err
	}
	for i := range vms {
		if st, ok := power[Key(vms[i].ID)]; ok {
			vms[i].PowerState = st.PowerState
			if st.ProvisioningState != "" {
				vms[i].ProvisioningState = st.ProvisioningState
			}
		}
	}
	for _, s := range sets {
		if !s.Uniform || (want != nil && !want(&s)) {
			continue
		}
		inst, err := c.ListInstances(ctx, s)
		if errors.Is(err, injector.ErrGone) {
			continue // deleted between the two listings
		}
		if err != nil {
			return nil, err
		}
		vms = append(vms, inst...)
	}
	return &Fleet{VMs: vms, ScaleSets: sets}, nil
}

// ListScaleSets lists the scale sets of the groups, or of the subscription.
func (c *Client) ListScaleSets(ctx context.Context, groups []string) ([]ScaleSet, error) {
	var out []ScaleSet
	add := func(v []*armcompute.VirtualMachineScaleSet) {
		for _, s := range v {
			if s != nil && s.ID != nil {
				out = append(out, scaleSetOf(s))
			}
		}
	}
	if len(groups) == 0 {
		p := c.sets.NewListAllPager(nil)
		for p.More() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list scale sets of subscription %s: %w", c.sub, brief(err))
			}
			add(page.Value)
		}
		return out, nil
	}
	for _, g := range groups {
		p := c.sets.NewListPager(g, nil)
		for p.More() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list scale sets of resource group %s: %w", g, brief(err))
			}
			add(page.Value)
		}
	}
	return out, nil
}

func scaleSetOf(s *armcompute.VirtualMachineScaleSet) ScaleSet {
	out := ScaleSet{ID: *s.ID, Name: deref(s.Name), Tags: tags(s.Tags), Uniform: true}
	if r, err := parseGroup(*s.ID); err == nil {
		out.ResourceGroup = r
	}
	p := s.Properties
	if p == nil {
		return out
	}
	if p.OrchestrationMode != nil {
		out.Uniform = *p.OrchestrationMode != armcompute.OrchestrationModeFlexible
	}
	if vp := p.VirtualMachineProfile; vp != nil {
		out.Priority = priority(vp.Priority)
		if vp.EvictionPolicy != nil {
			out.EvictionPolicy = string(*vp.EvictionPolicy)
		}
		if vp.BillingProfile != nil {
			out.MaxPrice = vp.BillingProfile.MaxPrice
		}
	} else {
		out.Priority = injector.PriorityRegular
	}
	return out
}

// ListVMs lists the models of the VMs of the groups, or of the
// subscription, through the VM API: standalone VMs and Flexible scale-set
// VMs. Power states come from PowerStates.
func (c *Client) ListVMs(ctx context.Context, groups []string, sets []ScaleSet) ([]VM, error) {
	bySet := make(map[string]*ScaleSet, len(sets))
	for i := range sets {
		bySet[Key(sets[i].ID)] = &sets[i]
	}
	var out []VM
	add := func(v []*armcompute.VirtualMachine) {
		for _, m := range v {
			if m != nil && m.ID != nil {
				out = append(out, vmOf(m, bySet))
			}
		}
	}
	if len(groups) == 0 {
		p := c.vms.NewListAllPager(nil)
		for p.More() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list VMs of subscription %s: %w", c.sub, brief(err))
			}
			add(page.Value)
		}
		return out, nil
	}
	for _, g := range groups {
		p := c.vms.NewListPager(g, nil)
		for p.More() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list VMs of resource group %s: %w", g, brief(err))
			}
			add(page.Value)
		}
	}
	return out, nil
}

func vmOf(m *armcompute.VirtualMachine, sets map[string]*ScaleSet) VM {
	v := VM{ID: *m.ID, Name: deref(m.Name), Kind: KindStandalone, Location: deref(m.Location), Zone: firstZone(m.Zones),
		Tags: tags(m.Tags), Priority: injector.PriorityRegular}
	if g, err := parseGroup(v.ID); err == nil {
		v.ResourceGroup = g
	}
	p := m.Properties
	if p == nil {
		return v
	}
	v.Priority = priority(p.Priority)
	if p.EvictionPolicy != nil {
		v.EvictionPolicy = string(*p.EvictionPolicy)
	}
	if p.BillingProfile != nil {
		v.MaxPrice = p.BillingProfile.MaxPrice
	}
	v.ProvisioningState = deref(p.ProvisioningState)
	if p.TimeCreated != nil {
		v.Created = *p.TimeCreated
	}
	if p.VirtualMachineScaleSet != nil && p.VirtualMachineScaleSet.ID != nil {
		v.Kind = KindFlexible
		setID := *p.VirtualMachineScaleSet.ID
		v.ScaleSet = setID[strings.LastIndex(setID, "/")+1:]
		v.ScaleSetID = setID
		if s, ok := sets[Key(setID)]; ok {
			v.ScaleSet = s.Name
			v.ScaleSetTags = s.Tags
			v.Tags = mergeTags(s.Tags, v.Tags)
		}
	}
	if iv := p.InstanceView; iv != nil {
		v.PowerState, v.ProvisioningState = statuses(iv.Statuses, v.ProvisioningState)
	}
	return v
}

// Status is a power state from the status-only listing.
type Status struct {
	ID                string
	PowerState        string
	ProvisioningState string
}

// PowerStates lists the power state of every VM of the subscription in one
// paged call (statusOnly=true), by Key of the ID: one listing per poll
// instead of one GET per VM. Uniform instances are not in it.
func (c *Client) PowerStates(ctx context.Context) (map[string]Status, error) {
	out := map[string]Status{}
	p := c.vms.NewListAllPager(&armcompute.VirtualMachinesClientListAllOptions{StatusOnly: to.Ptr("true")})
	for p.More() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list power states of subscription %s: %w", c.sub, brief(err))
		}
		for _, m := range page.Value {
			if m == nil || m.ID == nil {
				continue
			}
			st := Status{ID: *m.ID}
			if m.Properties != nil {
				st.ProvisioningState = deref(m.Properties.ProvisioningState)
				if m.Properties.InstanceView != nil {
					st.PowerState, st.ProvisioningState = statuses(m.Properties.InstanceView.Statuses, st.ProvisioningState)
				}
			}
			out[Key(*m.ID)] = st
		}
	}
	return out, nil
}

// ListInstances lists the instances of a Uniform scale set with their
// instance views. A scale set that is gone gives injector.ErrGone.
func (c *Client) ListInstances(ctx context.Context, s ScaleSet) ([]VM, error) {
	var out []VM
	p := c.setVMs.NewListPager(s.ResourceGroup, s.Name, &armcompute.VirtualMachineScaleSetVMsClientListOptions{Expand: to.Ptr("instanceView")})
	for p.More() {
		page, err := p.NextPage(ctx)
		if err != nil {
			var re *azcore.ResponseError
			if errors.As(err, &re) && re.StatusCode == http.StatusNotFound {
				return nil, fmt.Errorf("scale set %s/%s: %w", s.ResourceGroup, s.Name, injector.ErrGone)
			}
			return nil, fmt.Errorf("list instances of scale set %s/%s: %w", s.ResourceGroup, s.Name, brief(err))
		}
		for _, m := range page.Value {
			if m != nil && m.ID != nil {
				out = append(out, instanceOf(m, &s))
			}
		}
	}
	return out, nil
}

func instanceOf(m *armcompute.VirtualMachineScaleSetVM, s *ScaleSet) VM {
	v := VM{ID: *m.ID, Name: deref(m.Name), ResourceGroup: s.ResourceGroup, Kind: KindUniform, ScaleSet: s.Name,
		Location: deref(m.Location), Zone: firstZone(m.Zones), Priority: s.Priority, EvictionPolicy: s.EvictionPolicy,
		MaxPrice: s.MaxPrice, Tags: mergeTags(s.Tags, tags(m.Tags)), ScaleSetID: s.ID, ScaleSetTags: s.Tags}
	if v.Name == "" && m.InstanceID != nil {
		v.Name = s.Name + "_" + *m.InstanceID
	}
	if p := m.Properties; p != nil {
		v.ProvisioningState = deref(p.ProvisioningState)
		if p.TimeCreated != nil {
			v.Created = *p.TimeCreated
		}
		if p.InstanceView != nil {
			v.PowerState, v.ProvisioningState = statuses(p.InstanceView.Statuses, v.ProvisioningState)
		}
	}
	return v
}

// statuses reads PowerState/x and ProvisioningState/x from an instance
// view; provisioning defaults to what the model said.
func statuses(st []*armcompute.InstanceViewStatus, provisioning string) (power, prov string) {
	prov = provisioning
	for _, s := range st {
		if s == nil || s.Code == nil {
			continue
		}
		code := *s.Code
		switch {
		case strings.HasPrefix(code, "PowerState/"):
			power = strings.ToLower(strings.TrimPrefix(code, "PowerState/"))
		case strings.HasPrefix(code, "ProvisioningState/"):
			// ProvisioningState/failed/<reason>: keep the state only.
			rest := strings.TrimPrefix(code, "ProvisioningState/")
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				rest = rest[:i]
			}
			prov = rest
		}
	}
	return power, prov
}

func priority(p *armcompute.VirtualMachinePriorityTypes) string {
	if p == nil {
		return injector.PriorityRegular // Azure's default
	}
	return string(*p)
}

func parseGroup(id string) (string, error) {
	parts := strings.Split(id, "/")
	for i := 0; i+1 < len(parts); i++ {
		if strings.EqualFold(parts[i], "resourceGroups") {
			return parts[i+1], nil
		}
	}
	return "", fmt.Errorf("resource ID %q has no resource group", id)
}

func firstZone(z []*string) string {
	for _, s := range z {
		if s != nil {
			return *s
		}
	}
	return ""
}

func tags(t map[string]*string) map[string]string {
	if len(t) == 0 {
		return nil
	}
	out := make(map[string]string, len(t))
	for k, v := range t {
		if v != nil {
			out[k] = *v
		} else {
			out[k] = ""
		}
	}
	return out
}

// mergeTags lays an instance's own tags over its scale set's.
func mergeTags(base, own map[string]string) map[string]string {
	if len(base) == 0 {
		return own
	}
	out := make(map[string]string, len(base)+len(own))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range own {
		out[k] = v
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Selector is a scenario's target.azure: the resource groups to list, and
// the filters that pick targets among what they hold.
type Selector struct {
	Subscription   string
	ResourceGroups []string
	// ScaleSets, VMs and Nodes each add VMs to the selection; when all
	// three are empty, every VM of the resource groups is selected.
	ScaleSets []string
	VMs       []string
	// Nodes are AKS nodes' resource IDs, from their providerIDs.
	Nodes []string
	// Tags and Zones then keep only the VMs carrying every tag and
	// standing in one of the zones.
	Tags  map[string]string
	Zones []string
}

// Match says whether a VM is a target of the selector and, when not, why.
func (s *Selector) Match(v *VM) (bool, string) {
	if len(s.ResourceGroups) > 0 && !containsFold(s.ResourceGroups, v.ResourceGroup) {
		return false, fmt.Sprintf("resource group %s is not in target.azure.resourceGroups", v.ResourceGroup)
	}
	if len(s.ScaleSets)+len(s.VMs)+len(s.Nodes) > 0 {
		in := (v.ScaleSet != "" && containsFold(s.ScaleSets, v.ScaleSet)) ||
			(v.Kind != KindUniform && containsFold(s.VMs, v.Name)) ||
			containsFold(s.Nodes, v.ID)
		if !in {
			return false, "not selected by target.azure " + s.selectors()
		}
	}
	for _, k := range sortedKeys(s.Tags) {
		if got, ok := v.Tags[k]; !ok || got != s.Tags[k] {
			return false, fmt.Sprintf("tag %s=%s missing (target.azure.tags)", k, s.Tags[k])
		}
	}
	if len(s.Zones) > 0 && !slices.Contains(s.Zones, v.Zone) {
		z := v.Zone
		if z == "" {
			z = "(none)"
		}
		return false, fmt.Sprintf("zone %s is not in target.azure.zones", z)
	}
	return true, ""
}

// MayPick says whether the selector may pick instances of a scale set, so
// that only those scale sets' instances are listed.
func (s *Selector) MayPick(set *ScaleSet) bool {
	if len(s.ResourceGroups) > 0 && !containsFold(s.ResourceGroups, set.ResourceGroup) {
		return false
	}
	if len(s.ScaleSets)+len(s.VMs)+len(s.Nodes) == 0 || containsFold(s.ScaleSets, set.Name) {
		return true
	}
	prefix := Key(set.ID) + "/virtualmachines/"
	for _, n := range s.Nodes {
		if strings.HasPrefix(Key(n), prefix) {
			return true
		}
	}
	return false
}

func (s *Selector) selectors() string {
	var parts []string
	if len(s.ScaleSets) > 0 {
		parts = append(parts, "scaleSets")
	}
	if len(s.VMs) > 0 {
		parts = append(parts, "vms")
	}
	if len(s.Nodes) > 0 {
		parts = append(parts, "nodeProviderIDs")
	}
	return strings.Join(parts, ", ")
}

// Missing lists the nodes that no discovered VM matches, such as a node
// that the cluster has already replaced.
func (s *Selector) Missing(f *Fleet) []string {
	found := make(map[string]bool, len(f.VMs))
	for i := range f.VMs {
		found[Key(f.VMs[i].ID)] = true
	}
	var out []string
	for _, n := range s.Nodes {
		if !found[Key(n)] {
			out = append(out, n)
		}
	}
	return out
}

// NodeID turns an AKS node's providerID into the resource ID of its VM or
// scale-set instance, checking that it is in the subscription.
func NodeID(providerID, subscription string) (string, error) {
	r, err := ParseRef(providerID)
	if err != nil {
		return "", fmt.Errorf("nodeProviderID: %w", err)
	}
	if subscription != "" && !strings.EqualFold(r.Subscription, subscription) {
		return "", fmt.Errorf("nodeProviderID %q is in subscription %s, not %s", providerID, r.Subscription, subscription)
	}
	return r.ID(), nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
