// Package oci fetches kernel images from OCI registries (the layouts of
// cilium's ci-kernels and little-vm-helper's kernel images: a kernel at
// /boot/vmlinuz or <prefix>/boot/vmlinuz-<release>, sometimes a module
// tree at <prefix>/lib/modules/<release>/) through go-containerregistry.
//
// Resolve turns a tag into the digest of the image manifest for one
// platform; Extract fetches exactly that digest (go-containerregistry
// checks every manifest and layer against its digest), flattens the layers
// and writes the kernel files under the same hostile-archive rules as
// .deb packages (package deb): no traversal, no absolute names, no links
// out of the tree, bounded sizes.
package oci

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path"
	"regexp"
	"strings"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/bpfmatrix/bpfmatrix/kernels/deb"
)

var (
	// ErrRef is returned for a reference that does not parse.
	ErrRef = errors.New("invalid OCI image reference")
	// ErrNotFound is returned when the registry has no such repository,
	// tag or digest.
	ErrNotFound = errors.New("OCI image not found")
	// ErrUnreachable is returned when the registry cannot be reached.
	ErrUnreachable = errors.New("OCI registry unreachable")
	// ErrPlatform is returned when an image index has no image for the
	// platform asked for.
	ErrPlatform = errors.New("OCI image has no manifest for the platform")
)

// Options configures registry access. The zero value uses the Docker
// configuration's credentials (authn.DefaultKeychain) and
// http.DefaultTransport.
type Options struct {
	// Keychain supplies registry credentials. Default:
	// authn.DefaultKeychain (~/.docker/config.json, $DOCKER_CONFIG,
	// credential helpers).
	Keychain authn.Keychain
	// Transport is the HTTP transport. Default: http.DefaultTransport.
	Transport http.RoundTripper
	// Limits bounds the flattened image when extracting.
	Limits deb.Limits
	// Progress, if not nil, is called with the bytes downloaded so far and
	// the total compressed size of the layers.
	Progress func(done, total int64)
}

func (o Options) remote(ctx context.Context, extra ...remote.Option) []remote.Option {
	kc := o.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(kc)}
	if o.Transport != nil {
		opts = append(opts, remote.WithTransport(o.Transport))
	}
	return append(opts, extra...)
}

// Platform returns the OCI platform of a guest with the Go architecture
// goarch ("amd64", "arm64").
func Platform(goarch string) v1.Platform { return v1.Platform{OS: "linux", Architecture: goarch} }

// Resolved is an image pinned to its manifest digest.
type Resolved struct {
	// Repository is the image's repository, REGISTRY/REPO.
	Repository string
	// Digest is the manifest digest of the platform's image
	// ("sha256:<hex>").
	Digest string
	// Size is the compressed size of its layers.
	Size int64
}

// ParseRef parses a reference (REGISTRY/REPO:TAG or REGISTRY/REPO@DIGEST).
// A name without a registry is refused rather than sent to Docker Hub by
// surprise.
func ParseRef(ref string) (name.Reference, error) {
	if !strings.Contains(strings.SplitN(ref, "/", 2)[0], ".") && !strings.Contains(strings.SplitN(ref, "/", 2)[0], ":") &&
		!strings.HasPrefix(ref, "localhost/") {
		return nil, fmt.Errorf("%w %q: name the registry: REGISTRY/REPO:TAG", ErrRef, ref)
	}
	r, err := name.ParseReference(ref, name.StrictValidation)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v (want REGISTRY/REPO:TAG)", ErrRef, ref, err)
	}
	return r, nil
}

// Resolve returns the digest of the image that ref names for the guest
// architecture goarch: the platform's entry of an image index, or the
// image itself.
func Resolve(ctx context.Context, ref, goarch string, opts Options) (Resolved, error) {
	r, err := ParseRef(ref)
	if err != nil {
		return Resolved{}, err
	}
	img, err := remote.Image(r, opts.remote(ctx, remote.WithPlatform(Platform(goarch)))...)
	if err != nil {
		return Resolved{}, registryError(ref, goarch, err)
	}
	d, err := img.Digest()
	if err != nil {
		return Resolved{}, registryError(ref, goarch, err)
	}
	size, err := layersSize(img)
	if err != nil {
		return Resolved{}, registryError(ref, goarch, err)
	}
	return Resolved{Repository: r.Context().Name(), Digest: d.String(), Size: size}, nil
}

func layersSize(img v1.Image) (int64, error) {
	m, err := img.Manifest()
	if err != nil {
		return 0, err
	}
	var n int64
	for _, l := range m.Layers {
		n += l.Size
	}
	return n, nil
}

// registryError maps go-containerregistry's errors onto the package's
// sentinels, keeping the registry's message.
func registryError(ref, goarch string, err error) error {
	var te *transport.Error
	if errors.As(err, &te) {
		switch te.StatusCode {
		case http.StatusNotFound:
			return fmt.Errorf("%w: %s: %v; check the repository and tag (`crane ls REPO` lists the tags)", ErrNotFound, ref, err)
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("%s: %w; log in with `docker login` (credentials come from the Docker config)", ref, err)
		}
		for _, d := range te.Errors {
			if d.Code == transport.ManifestUnknownErrorCode || d.Code == transport.NameUnknownErrorCode {
				return fmt.Errorf("%w: %s: %v; check the repository and tag", ErrNotFound, ref, err)
			}
		}
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return fmt.Errorf("%w: %s: %v; check the registry's name and that it is reachable from here", ErrUnreachable, ref, err)
	}
	if strings.Contains(err.Error(), "no child with platform") {
		return fmt.Errorf("%w linux/%s: %s: %v; pick an arch the image has", ErrPlatform, goarch, ref, err)
	}
	return fmt.Errorf("%s: %w", ref, err)
}

// Extract fetches the image repository@digest and extracts the entries of
// its file system that sel selects into dest, under the rules of
// deb.ExtractTar, layer over layer (whiteouts honoured). Every layer is
// checked against its digest as it is read.
//
// ref is how the user named the image (REGISTRY/REPO:TAG), for messages.
func Extract(ctx context.Context, ref string, res Resolved, dest string, sel deb.HeaderSelector, opts Options) error {
	pinned := res.Repository + "@" + res.Digest
	r, err := name.NewDigest(pinned, name.StrictValidation)
	if err != nil {
		return fmt.Errorf("%w %q: %v", ErrRef, pinned, err)
	}
	ref += " (" + res.Digest + ")"
	var done atomic.Int64
	var total int64
	if opts.Progress != nil {
		base := opts.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		opts.Transport = countingTransport{base: base, n: &done, report: func() { opts.Progress(done.Load(), total) }}
	}
	img, err := remote.Image(r, opts.remote(ctx)...)
	if err != nil {
		return registryError(ref, "", err)
	}
	if total, err = layersSize(img); err != nil {
		return registryError(ref, "", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return registryError(ref, "", err)
	}
	x, err := deb.NewExtractor(dest, deb.ExtractOptions{Select: sel, Limits: opts.Limits, Whiteouts: true})
	if err != nil {
		return err
	}
	defer x.Close()
	for i, l := range layers {
		if err := extractLayer(x, l); err != nil {
			d, _ := l.Digest()
			return fmt.Errorf("image %s: layer %d (%s): %w", ref, i+1, d, err)
		}
	}
	return nil
}

// extractLayer extracts one layer and reads it to the end, so that
// go-containerregistry checks the whole blob against its digest.
func extractLayer(x *deb.Extractor, l v1.Layer) error {
	rc, err := l.Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := x.Tar(rc); err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return err
	}
	return rc.Close()
}

type countingTransport struct {
	base   http.RoundTripper
	n      *atomic.Int64
	report func()
}

func (c countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(req)
	if err == nil && strings.Contains(req.URL.Path, "/blobs/") {
		resp.Body = &countingBody{ReadCloser: resp.Body, c: c}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	c countingTransport
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.c.n.Add(int64(n))
		b.c.report()
	}
	return n, err
}

// Layout paths of the files a kernel image holds, as Selector maps them.
const (
	// BootDir holds every <prefix>/boot/vmlinuz* and <prefix>/boot/config*
	// file of the image under its base name.
	BootDir = "boot"
	// ModulesDir holds every <prefix>/lib/modules/<release>/ tree.
	ModulesDir = "modules"
)

var (
	bootRE    = regexp.MustCompile(`^(?:.*/)?boot/((?:vmlinuz|vmlinux|bzImage|Image|config)[^/]*)$`)
	modulesRE = regexp.MustCompile(`^(?:.*/)?lib/modules/([^/]+)(/.*)?$`)
)

// Selector maps an image's kernel files into dest: boot/<name> for the
// kernel images and configs under any boot/ directory, and
// modules/<release>/... for module trees. The module tree's build and
// source links (to the build machine's source tree) are dropped; every
// other selected link must stay inside dest, or the extraction fails.
func Selector(name string, hdr *tar.Header) (string, bool) {
	if strings.HasPrefix(name, "usr/src/") {
		return "", false // selftests and headers
	}
	if m := bootRE.FindStringSubmatch(name); m != nil && hdr.Typeflag != tar.TypeDir {
		return path.Join(BootDir, m[1]), true
	}
	if m := modulesRE.FindStringSubmatch(name); m != nil {
		rest := strings.TrimPrefix(m[2], "/")
		if rest == "build" || rest == "source" {
			return "", false
		}
		return path.Join(ModulesDir, m[1], rest), true
	}
	return "", false
}
