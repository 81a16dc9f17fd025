package debian

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
)

// Download streams the package p from mirror to w, verifying its size and
// SHA256. progress, if not nil, is called as data arrives. On a mismatch it
// returns an error wrapping ErrChecksum; w then holds unverified data that
// the caller must discard. HTTP failures are *HTTPError values (404 matches
// ErrNotFound).
func Download(ctx context.Context, client *http.Client, mirror string, p Package, w io.Writer, progress func(done, total int64)) error {
	if p.Filename == "" || path.IsAbs(p.Filename) || strings.Contains(p.Filename, "..") || strings.Contains(p.Filename, "://") {
		return fmt.Errorf("%w: package %s has unsafe Filename %q", ErrIndex, p.Name, p.Filename)
	}
	mirror = strings.TrimRight(mirror, "/")
	if mirror == "" {
		return fmt.Errorf("%w: empty mirror URL; set BPFMATRIX_DEBIAN_MIRROR or pass --mirror", ErrNoMirror)
	}
	url := mirror + "/" + p.Filename
	resp, err := get(ctx, client, url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()

	h := sha256.New()
	var done int64
	buf := make([]byte, 256*1024)
	body := io.LimitReader(resp.Body, p.Size+1)
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			h.Write(buf[:n])
			if _, err := w.Write(buf[:n]); err != nil {
				return fmt.Errorf("writing %s: %w", p.Name, err)
			}
			done += int64(n)
			if progress != nil {
				progress(done, p.Size)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("downloading %s: %w", url, ctx.Err())
			}
			if done < p.Size {
				return fmt.Errorf("%w: package %s: download of %s broke off after %d of %d bytes (%v); retry, or run `bpfmatrix kernels update` if it persists",
					ErrChecksum, p.Name, url, done, p.Size, rerr)
			}
			return fmt.Errorf("GET %s: %w", url, rerr)
		}
	}
	if done != p.Size {
		return fmt.Errorf("%w: package %s: expected %d bytes, got %d from %s; retry, or run `bpfmatrix kernels update` if it persists",
			ErrChecksum, p.Name, p.Size, done, url)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != strings.ToLower(p.SHA256) {
		return fmt.Errorf("%w: package %s: expected SHA256 %s, got %s from %s; retry, or run `bpfmatrix kernels update` if it persists",
			ErrChecksum, p.Name, p.SHA256, got, url)
	}
	return nil
}

// Check asks the mirror (HEAD) whether it serves the package p: an index
// can list packages its pool lacks (a mirror half-synced, or one that
// drops an architecture). It returns an error matching ErrNotFound if the
// mirror answers 404, nil if it serves the file (or cannot say).
func Check(ctx context.Context, client *http.Client, mirror string, p Package) error {
	if client == nil {
		client = http.DefaultClient
	}
	url := strings.TrimRight(mirror, "/") + "/" + p.Filename
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, url, nil)
	if err != nil {
		return fmt.Errorf("building request for %s: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil // the download will tell
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return &HTTPError{URL: url, StatusCode: resp.StatusCode, Status: resp.Status}
	}
	return nil
}
