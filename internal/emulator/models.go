package emulator

import (
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"

	"github.com/spotdrill/spotdrill/scenarios"
)

// The models are the SDK's own types, marshalled by the SDK's own
// MarshalJSON, so that what the emulator sends has exactly the shapes the
// SDK reads from Azure.

const (
	typeVM       = "Microsoft.Compute/virtualMachines"
	typeScaleSet = "Microsoft.Compute/virtualMachineScaleSets"
	typeInstance = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines"
	defaultSKU   = "Standard_D2s_v5"
)

func (p *pool) sku() string {
	if p.cfg.SKU != "" {
		return p.cfg.SKU
	}
	return defaultSKU
}

func (p *pool) priority() *armcompute.VirtualMachinePriorityTypes {
	if p.cfg.Priority == scenarios.PrioritySpot {
		return to.Ptr(armcompute.VirtualMachinePriorityTypesSpot)
	}
	return to.Ptr(armcompute.VirtualMachinePriorityTypesRegular)
}

// evictionPolicy is the pool's, for Spot pools; Deallocate is Azure's
// default.
func (p *pool) evictionPolicy() *armcompute.VirtualMachineEvictionPolicyTypes {
	if p.cfg.Priority != scenarios.PrioritySpot {
		return nil
	}
	if p.cfg.EvictionPolicy == scenarios.EvictionDelete {
		return to.Ptr(armcompute.VirtualMachineEvictionPolicyTypesDelete)
	}
	return to.Ptr(armcompute.VirtualMachineEvictionPolicyTypesDeallocate)
}

func (p *pool) billing() *armcompute.BillingProfile {
	if p.cfg.Priority != scenarios.PrioritySpot {
		return nil
	}
	maxPrice := -1.0
	if p.cfg.MaxPrice != nil {
		maxPrice = *p.cfg.MaxPrice
	}
	return &armcompute.BillingProfile{MaxPrice: to.Ptr(maxPrice)}
}

func (p *pool) tags() map[string]*string { return tags(p.cfg.Tags, p.extra) }

func zones(z ...string) []*string {
	var out []*string
	for _, s := range z {
		if s != "" {
			out = append(out, to.Ptr(s))
		}
	}
	return out
}

// provisioning is the VM's provisioning state as models spell it.
func (m *machine) provisioning() string {
	if m.power == PowerStarting {
		return "Creating"
	}
	return "Succeeded"
}

// computerName is the VM's host name: a scale set's prefix and the
// instance ID in base 36 on six digits, as Azure names Uniform instances.
func (m *machine) computerName() string {
	if m.instance == "" {
		return m.name
	}
	n, _ := strconv.ParseInt(m.instance, 10, 64)
	s := strconv.FormatInt(n, 36)
	return m.pool.cfg.Name + strings.Repeat("0", max(0, 6-len(s))) + s
}

func (e *Emulator) vmUUID(m *machine) string {
	return strings.ToLower(eventID(e.fleet.seed, "vmId/"+m.id, 0))
}

// statuses are the instance view's: provisioning state, then power state.
func (e *Emulator) statuses(m *machine) []*armcompute.InstanceViewStatus {
	prov := &armcompute.InstanceViewStatus{Code: to.Ptr("ProvisioningState/" + strings.ToLower(m.provisioning())),
		Level: to.Ptr(armcompute.StatusLevelTypesInfo), DisplayStatus: to.Ptr("Provisioning " + strings.ToLower(m.provisioning())),
		Time: to.Ptr(e.wall(m.created))}
	if m.power == PowerStarting {
		prov.DisplayStatus = to.Ptr("Creating")
	}
	display := map[string]string{PowerStarting: "VM starting", PowerRunning: "VM running", PowerDeallocated: "VM deallocated"}[m.power]
	return []*armcompute.InstanceViewStatus{prov,
		{Code: to.Ptr("PowerState/" + m.power), Level: to.Ptr(armcompute.StatusLevelTypesInfo), DisplayStatus: to.Ptr(display)}}
}

func (e *Emulator) vmInstanceView(m *machine) *armcompute.VirtualMachineInstanceView {
	return &armcompute.VirtualMachineInstanceView{ComputerName: to.Ptr(m.computerName()), Statuses: e.statuses(m),
		OSName: to.Ptr("ubuntu"), OSVersion: to.Ptr("24.04")}
}

// vmModel is a standalone VM, with its instance view when asked.
func (e *Emulator) vmModel(m *machine, view bool) *armcompute.VirtualMachine {
	p := m.pool
	props := &armcompute.VirtualMachineProperties{
		Priority: p.priority(), EvictionPolicy: p.evictionPolicy(), BillingProfile: p.billing(),
		HardwareProfile:   &armcompute.HardwareProfile{VMSize: to.Ptr(armcompute.VirtualMachineSizeTypes(p.sku()))},
		OSProfile:         &armcompute.OSProfile{ComputerName: to.Ptr(m.computerName())},
		ProvisioningState: to.Ptr(m.provisioning()), TimeCreated: to.Ptr(e.wall(m.created)), VMID: to.Ptr(e.vmUUID(m)),
	}
	if view {
		props.InstanceView = e.vmInstanceView(m)
	}
	return &armcompute.VirtualMachine{ID: to.Ptr(m.id), Name: to.Ptr(m.name), Type: to.Ptr(typeVM),
		Location: to.Ptr(e.fleet.location), Zones: zones(m.zone), Tags: tags(p.cfg.Tags, m.extra), Properties: props}
}

// vmStatus is a VM as a statusOnly=true listing gives it: its identity
// and its instance view.
func (e *Emulator) vmStatus(m *machine) *armcompute.VirtualMachine {
	return &armcompute.VirtualMachine{ID: to.Ptr(m.id), Name: to.Ptr(m.name), Type: to.Ptr(typeVM),
		Location: to.Ptr(e.fleet.location), Properties: &armcompute.VirtualMachineProperties{InstanceView: e.vmInstanceView(m)}}
}

// setModel is a Uniform scale set: the Spot settings sit on its VM
// profile, and its capacity counts the instances that exist.
func (e *Emulator) setModel(p *pool) *armcompute.VirtualMachineScaleSet {
	capacity := int64(len(e.fleet.live(0, func(m *machine) bool { return m.pool == p })))
	return &armcompute.VirtualMachineScaleSet{
		ID: to.Ptr(p.id), Name: to.Ptr(p.cfg.Name), Type: to.Ptr(typeScaleSet), Location: to.Ptr(e.fleet.location),
		Zones: zones(p.cfg.Zones...), Tags: p.tags(),
		SKU: &armcompute.SKU{Name: to.Ptr(p.sku()), Tier: to.Ptr("Standard"), Capacity: to.Ptr(capacity)},
		Properties: &armcompute.VirtualMachineScaleSetProperties{
			OrchestrationMode: to.Ptr(armcompute.OrchestrationModeUniform),
			ProvisioningState: to.Ptr("Succeeded"),
			UniqueID:          to.Ptr(strings.ToLower(eventID(e.fleet.seed, "set/"+p.id, 0))),
			TimeCreated:       to.Ptr(e.wall(0)),
			UpgradePolicy:     &armcompute.UpgradePolicy{Mode: to.Ptr(armcompute.UpgradeModeManual)},
			VirtualMachineProfile: &armcompute.VirtualMachineScaleSetVMProfile{
				Priority: p.priority(), EvictionPolicy: p.evictionPolicy(), BillingProfile: p.billing(),
				OSProfile: &armcompute.VirtualMachineScaleSetOSProfile{ComputerNamePrefix: to.Ptr(p.cfg.Name)},
			},
		},
	}
}

func (e *Emulator) instanceView(m *machine) *armcompute.VirtualMachineScaleSetVMInstanceView {
	return &armcompute.VirtualMachineScaleSetVMInstanceView{ComputerName: to.Ptr(m.computerName()), Statuses: e.statuses(m),
		OSName: to.Ptr("ubuntu"), OSVersion: to.Ptr("24.04")}
}

// instanceModel is a Uniform scale-set instance, with its instance view
// when asked. Its priority is its scale set's, as on Azure.
func (e *Emulator) instanceModel(m *machine, view bool) *armcompute.VirtualMachineScaleSetVM {
	props := &armcompute.VirtualMachineScaleSetVMProperties{
		HardwareProfile:    &armcompute.HardwareProfile{VMSize: to.Ptr(armcompute.VirtualMachineSizeTypes(m.pool.sku()))},
		OSProfile:          &armcompute.OSProfile{ComputerName: to.Ptr(m.computerName())},
		ProvisioningState:  to.Ptr(m.provisioning()),
		TimeCreated:        to.Ptr(e.wall(m.created)),
		VMID:               to.Ptr(e.vmUUID(m)),
		LatestModelApplied: to.Ptr(true),
	}
	if view {
		props.InstanceView = e.instanceView(m)
	}
	return &armcompute.VirtualMachineScaleSetVM{ID: to.Ptr(m.id), Name: to.Ptr(m.name), InstanceID: to.Ptr(m.instance),
		Type: to.Ptr(typeInstance), Location: to.Ptr(e.fleet.location), Zones: zones(m.zone), Tags: tags(m.pool.cfg.Tags, m.extra),
		SKU: &armcompute.SKU{Name: to.Ptr(m.pool.sku()), Tier: to.Ptr("Standard")}, Properties: props}
}
