package debian

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// ErrUnreachable is returned when the mirror cannot be reached at all.
var ErrUnreachable = errors.New("mirror unreachable")

// ErrNotFound matches (via errors.Is) an *HTTPError with status 404.
var ErrNotFound = errors.New("not found on mirror")

// HTTPError is returned when a mirror answers with a non-200 status.
type HTTPError struct {
	URL        string
	StatusCode int
	Status     string
}

// Error implements error.
func (e *HTTPError) Error() string {
	return fmt.Sprintf("GET %s: HTTP %s; check that the mirror URL is right and reachable", e.URL, e.Status)
}

// Is reports whether target is ErrNotFound and the status is 404.
func (e *HTTPError) Is(target error) bool {
	return target == ErrNotFound && e.StatusCode == http.StatusNotFound
}

func get(ctx context.Context, client *http.Client, url string) (*http.Response, error) {
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("building request for %s: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("GET %s: %w", url, ctx.Err())
		}
		return nil, fmt.Errorf("%w: GET %s: %v; check the network, or set BPFMATRIX_DEBIAN_MIRROR (or --mirror) to a reachable Debian mirror", ErrUnreachable, url, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		status := resp.Status
		if status == "" {
			status = fmt.Sprint(resp.StatusCode)
		}
		return nil, &HTTPError{URL: url, StatusCode: resp.StatusCode, Status: status}
	}
	return resp, nil
}
