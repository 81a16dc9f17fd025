// Command ociserve serves a cached kernel as an OCI image from an
// in-process registry (go-containerregistry's pkg/registry) on 127.0.0.1,
// for trying oci: kernels without a real registry:
//
//	go run ./kernels/internal/ociserve -kernel ~/.cache/bpfmatrix/kernels/debian-6.12-... -layout lvh
//	bpfmatrix run --kernels oci:127.0.0.1:PORT/lvh-images/kernel-images:6.12-main
//
// -layout ci-kernels puts the kernel at /boot/vmlinuz and the modules at
// /lib/modules/<release>/ with no config, as cilium's ci-kernels images
// do; -layout lvh puts them under /data/kernels/<series>/ with
// /boot/config-<release>, as little-vm-helper's kernel images do.
package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen `ADDRESS`")
	dir := flag.String("kernel", "", "a kernel `DIR` of the bpfmatrix cache (vmlinuz, config, modules/, kernel.json)")
	layout := flag.String("layout", "ci-kernels", "image layout: ci-kernels or lvh")
	arch := flag.String("arch", "amd64", "platform architecture of the image")
	flag.Parse()
	if err := run(*addr, *dir, *layout, *arch); err != nil {
		log.Fatal(err)
	}
}

func run(addr, dir, layout, arch string) error {
	var k struct {
		Release, Version string
	}
	b, err := os.ReadFile(filepath.Join(dir, "kernel.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &k); err != nil {
		return err
	}
	prefix, repo, tag := "", "cilium/ci-kernels", k.Version
	withConfig := false
	if layout == "lvh" {
		prefix, repo, tag, withConfig = "data/kernels/"+k.Version+"/", "lvh-images/kernel-images", k.Version+"-main", true
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name, src string) error {
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	}
	image := prefix + "boot/vmlinuz"
	if layout == "lvh" {
		image += "-" + k.Release
	}
	if err := add(image, filepath.Join(dir, "vmlinuz")); err != nil {
		return err
	}
	if withConfig {
		if err := add(prefix+"boot/config-"+k.Release, filepath.Join(dir, "config")); err != nil {
			return err
		}
	}
	mods := filepath.Join(dir, "modules", k.Release)
	err = filepath.WalkDir(mods, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(mods, p)
		return add(prefix+"lib/modules/"+k.Release+"/"+rel, p)
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		return err
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		return err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf.OS, cf.Architecture = "linux", arch
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return err
	}
	idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	go http.Serve(ln, registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	ref, err := name.ParseReference(ln.Addr().String() + "/" + repo + ":" + tag)
	if err != nil {
		return err
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		return err
	}
	fmt.Printf("oci:%s\n", ref)
	select {}
}
