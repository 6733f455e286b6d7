package emulator

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
)

// tagsAPIVersions are the Microsoft.Resources versions of the tags-at-scope
// API that the emulator serves (spotdrill's lease uses 2021-04-01).
var tagsAPIVersions = []string{"2019-10-01", "2020-06-01", "2021-04-01", "2022-09-01", "2023-07-01", "2024-03-01"}

// tagsSuffix is where the tags-at-scope API hangs off a resource.
const tagsSuffix = "/providers/microsoft.resources/tags/default"

// maxTagBody bounds a tags request body: Azure allows 50 tags of at most
// 512 + 256 characters.
const maxTagBody = 64 << 10

// tags is a resource's tags: the scenario's pool tags under what the tags
// API wrote.
func tags(base, extra map[string]string) map[string]*string {
	if len(base)+len(extra) == 0 {
		return nil
	}
	out := make(map[string]*string, len(base)+len(extra))
	for k, v := range base {
		out[k] = to.Ptr(v)
	}
	for k, v := range extra {
		for old := range out {
			if strings.EqualFold(old, k) {
				delete(out, old) // tag names compare without case
			}
		}
		out[k] = to.Ptr(v)
	}
	return out
}

type tagsBody struct {
	ID         string `json:"id,omitempty"`
	Name       string `json:"name,omitempty"`
	Type       string `json:"type,omitempty"`
	Operation  string `json:"operation,omitempty"`
	Properties struct {
		Tags map[string]string `json:"tags"`
	} `json:"properties"`
}

// serveTags reads (GET) or merges, replaces and deletes (PATCH) the tags of
// a VM or scale set through the tags-at-scope API; extra is where the
// resource keeps what the API wrote.
func serveTags(c *call, id string, base map[string]string, extra *map[string]string) (reply, *armError) {
	if c.r.Method == http.MethodPatch {
		var body tagsBody
		raw, err := io.ReadAll(io.LimitReader(c.r.Body, maxTagBody+1))
		if err != nil || len(raw) > maxTagBody {
			return reply{}, errorf(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The tags request is larger than %d bytes.", maxTagBody)
		}
		if err := json.Unmarshal(raw, &body); err != nil {
			return reply{}, errorf(http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized: %v", err)
		}
		next := maps.Clone(*extra)
		if next == nil {
			next = map[string]string{}
		}
		switch strings.ToLower(body.Operation) {
		case "merge":
			maps.Copy(next, body.Properties.Tags)
		case "replace":
			next = maps.Clone(body.Properties.Tags)
		case "delete":
			for k, v := range body.Properties.Tags {
				if cur, ok := next[k]; ok && (v == "" || cur == v) {
					delete(next, k)
				}
			}
		default:
			return reply{}, errorf(http.StatusBadRequest, "InvalidTagOperation", "The operation '%s' is not one of Merge, Replace or Delete.", body.Operation)
		}
		if len(next) > 50 {
			return reply{}, errorf(http.StatusBadRequest, "InvalidTagCount", "A resource can carry at most 50 tags.")
		}
		*extra = next
	}
	var out tagsBody
	out.ID, out.Name, out.Type = id+"/providers/Microsoft.Resources/tags/default", "default", "Microsoft.Resources/tags"
	out.Properties.Tags = map[string]string{}
	for k, v := range tags(base, *extra) {
		out.Properties.Tags[k] = *v
	}
	return reply{http.StatusOK, out}, nil
}

func (e *Emulator) vmTags(c *call) (reply, *armError) {
	m, err := e.vm(c)
	if err != nil {
		return reply{}, err
	}
	return serveTags(c, m.id, m.pool.cfg.Tags, &m.extra)
}

func (e *Emulator) setTags(c *call) (reply, *armError) {
	p, err := e.set(c)
	if err != nil {
		return reply{}, err
	}
	return serveTags(c, p.id, p.cfg.Tags, &p.extra)
}

// scaleSetUpdate is what PATCH on a scale set may change here: its
// capacity.
type scaleSetUpdate struct {
	SKU *struct {
		Capacity *int64 `json:"capacity"`
	} `json:"sku"`
}

// maxScaleOut bounds one scale-out, as a scale set's 1,000 instances do.
const maxScaleOut = 1000

// updateSet raises a scale set's capacity (a scale-out by hand or by another
// team): the simulated autoscaler provisions the difference. A lower
// capacity is refused: scale-in is not emulated.
func (e *Emulator) updateSet(c *call) (reply, *armError) {
	p, aerr := e.set(c)
	if aerr != nil {
		return reply{}, aerr
	}
	var u scaleSetUpdate
	raw, err := io.ReadAll(io.LimitReader(c.r.Body, maxTagBody+1))
	if err == nil && len(raw) > maxTagBody {
		err = fmt.Errorf("larger than %d bytes", maxTagBody)
	}
	if err == nil {
		err = json.Unmarshal(raw, &u)
	}
	if err != nil || u.SKU == nil || u.SKU.Capacity == nil {
		return reply{}, errorf(http.StatusBadRequest, "InvalidRequestContent",
			"The emulator updates a scale set's sku.capacity only; the request had none (%v).", err)
	}
	live := int64(len(e.fleet.live(0, func(m *machine) bool { return m.pool == p })))
	want := *u.SKU.Capacity
	switch {
	case want < live:
		return reply{}, errorf(http.StatusBadRequest, "OperationNotAllowed",
			"The emulator does not scale in: '%s' runs %d instances, asked for %d.", p.cfg.Name, live, want)
	case want-live > maxScaleOut:
		return reply{}, errorf(http.StatusBadRequest, "InvalidParameter", "A scale-out of %d instances is more than %d.", want-live, maxScaleOut)
	case want > live:
		if err := e.world.ScaleOut(p.cfg.Name, int(want-live)); err != nil {
			return reply{}, errorf(http.StatusInternalServerError, "InternalServerError", "%v", err)
		}
	}
	model := e.setModel(p)
	model.SKU.Capacity = to.Ptr(want)
	return reply{http.StatusOK, model}, nil
}

func isTagsRoute(rt *route) bool {
	n := len(rt.pattern)
	return n >= 3 && slices.Equal(rt.pattern[n-3:], []string{"microsoft.resources", "tags", "default"})
}
