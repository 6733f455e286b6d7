package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/spotdrill/spotdrill/injector"
)

// LeaseTag marks a scale set or VM as taken by one game day: the value is
// the run's ID. Every run reads it at discovery and at each wave, and never
// touches a target that another run leased, so runs on different machines
// against one subscription see each other. Writing it needs only
// Microsoft.Resources/tags/write (deploy/azure/spotdrill-lease-role.json).
const LeaseTag = injector.LeaseTag

// tagsAPIVersion is the Microsoft.Resources tags-at-scope API.
const tagsAPIVersion = "2021-04-01"

// ErrLeased says that another run holds a lease on a target.
var ErrLeased = errors.New("leased by another game day")

// LeaseHolder reads the lease from a resource's tags: the run ID that holds
// it, if any. The tag name matches in any case, as Azure compares them.
func LeaseHolder(tags map[string]string) (string, bool) {
	for k, v := range tags {
		if strings.EqualFold(k, LeaseTag) && strings.TrimSpace(v) != "" {
			return v, true
		}
	}
	return "", false
}

type tagsResource struct {
	Properties struct {
		Tags map[string]string `json:"tags"`
	} `json:"properties"`
}

type tagsPatch struct {
	Operation  string `json:"operation"`
	Properties struct {
		Tags map[string]string `json:"tags"`
	} `json:"properties"`
}

// Lease tags every resource with the run's ID, then reads each back: a
// resource that another run leased first, or that another run re-tagged in
// between, is an ErrLeased, and the leases this call took are released.
func (c *Client) Lease(ctx context.Context, runID string, ids []string) error {
	var taken []string
	for _, id := range ids {
		tags, err := c.tags(ctx, id)
		if err != nil {
			return errors.Join(err, c.Release(ctx, runID, taken))
		}
		if holder, ok := LeaseHolder(tags); ok && holder != runID {
			return errors.Join(fmt.Errorf("%s: %w (%s=%s)", id, ErrLeased, LeaseTag, holder), c.Release(ctx, runID, taken))
		}
		if err := c.patchTags(ctx, id, "Merge", runID); err != nil {
			return errors.Join(err, c.Release(ctx, runID, taken))
		}
		taken = append(taken, id)
	}
	for _, id := range ids {
		tags, err := c.tags(ctx, id)
		if err != nil {
			return errors.Join(err, c.Release(ctx, runID, taken))
		}
		if holder, _ := LeaseHolder(tags); holder != runID {
			return errors.Join(fmt.Errorf("%s: %w (%s=%s, written after ours)", id, ErrLeased, LeaseTag, holder), c.Release(ctx, runID, taken))
		}
	}
	return nil
}

// Release removes the run's lease from every resource that still carries
// it; a lease another run holds by now is left alone.
func (c *Client) Release(ctx context.Context, runID string, ids []string) error {
	var errs []error
	for _, id := range ids {
		tags, err := c.tags(ctx, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if holder, _ := LeaseHolder(tags); holder != runID {
			continue
		}
		if err := c.patchTags(ctx, id, "Delete", runID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (c *Client) tagsURL(id string) string {
	return c.arm.Endpoint() + strings.TrimRight(id, "/") + "/providers/Microsoft.Resources/tags/default"
}

func (c *Client) tags(ctx context.Context, id string) (map[string]string, error) {
	req, err := runtime.NewRequest(ctx, http.MethodGet, c.tagsURL(id))
	if err != nil {
		return nil, fmt.Errorf("azure: read tags of %s: %w", id, err)
	}
	q := req.Raw().URL.Query()
	q.Set("api-version", tagsAPIVersion)
	req.Raw().URL.RawQuery = q.Encode()
	resp, err := c.arm.Pipeline().Do(req)
	if err != nil {
		return nil, fmt.Errorf("azure: read tags of %s: %w", id, err)
	}
	if !runtime.HasStatusCode(resp, http.StatusOK) {
		return nil, fmt.Errorf("azure: read tags of %s: %w", id, runtime.NewResponseError(resp))
	}
	var r tagsResource
	if err := runtime.UnmarshalAsJSON(resp, &r); err != nil {
		return nil, fmt.Errorf("azure: read tags of %s: %w", id, err)
	}
	return r.Properties.Tags, nil
}

// patchTags merges or deletes the lease tag with the tags-at-scope API,
// which changes no other tag and needs no write permission on the VM.
func (c *Client) patchTags(ctx context.Context, id, op, runID string) error {
	req, err := runtime.NewRequest(ctx, http.MethodPatch, c.tagsURL(id))
	if err != nil {
		return fmt.Errorf("azure: %s lease tag on %s: %w", strings.ToLower(op), id, err)
	}
	q := req.Raw().URL.Query()
	q.Set("api-version", tagsAPIVersion)
	req.Raw().URL.RawQuery = q.Encode()
	var body tagsPatch
	body.Operation = op
	body.Properties.Tags = map[string]string{LeaseTag: runID}
	if err := runtime.MarshalAsJSON(req, body); err != nil {
		return err
	}
	resp, err := c.arm.Pipeline().Do(req)
	if err != nil {
		return fmt.Errorf("azure: %s lease tag on %s: %w", strings.ToLower(op), id, err)
	}
	if !runtime.HasStatusCode(resp, http.StatusOK) {
		return fmt.Errorf("azure: %s lease tag on %s: %w", strings.ToLower(op), id, runtime.NewResponseError(resp))
	}
	return nil
}
