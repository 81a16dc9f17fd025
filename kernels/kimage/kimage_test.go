package kimage

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/bpfmatrix/bpfmatrix/kernels/internal/kerneltest"
)

const config = "CONFIG_BPF=y\n# CONFIG_FPROBE is not set\n"

func gzipped(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func TestIdentify(t *testing.T) {
	for _, tc := range []struct {
		name         string
		image        []byte
		format, arch string
		release      string // from the header
		config       bool
	}{
		{"bzImage", kerneltest.BzImage("6.9.0-rc1+", []byte(config)), FormatBzImage, "amd64", "6.9.0-rc1+", true},
		{"bzImage without IKCONFIG", kerneltest.BzImage("6.1.0-50-cloud-amd64", nil), FormatBzImage, "amd64", "6.1.0-50-cloud-amd64", false},
		{"arm64 Image", kerneltest.ARM64Image("6.6.30", []byte(config)), FormatARM64, "arm64", "", true},
		{"arm64 Image.gz", gzipped(kerneltest.ARM64Image("6.6.30", nil)), FormatARM64, "arm64", "", false},
		{"arm64 EFI zboot", kerneltest.Zboot(kerneltest.ARM64Image("6.12.1", []byte(config))), FormatZboot, "arm64", "", true},
		{"x86 vmlinux", kerneltest.ELF(62, "6.12.0", []byte(config)), FormatELF, "amd64", "", true},
		{"arm64 vmlinux", kerneltest.ELF(183, "6.12.0", nil), FormatELF, "arm64", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, err := Identify(tc.image)
			if err != nil {
				t.Fatalf("Identify() = %v", err)
			}
			if info.Format != tc.format || info.Arch != tc.arch || info.Release != tc.release {
				t.Fatalf("Identify() = %+v, want format %q arch %q release %q", info, tc.format, tc.arch, tc.release)
			}
			k, err := Uncompressed(tc.image, info)
			if err != nil {
				t.Fatalf("Uncompressed() = %v", err)
			}
			if Release(k) == "" {
				t.Errorf("Release() = \"\", want the banner's release")
			}
			cfg, err := IKConfig(k)
			if tc.config {
				if err != nil || string(cfg) != config {
					t.Errorf("IKConfig() = %q, %v, want %q", cfg, err, config)
				}
			} else if !errors.Is(err, ErrNoIKConfig) {
				t.Errorf("IKConfig() = %v, want ErrNoIKConfig", err)
			}
		})
	}
}

func TestIdentifyRejects(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":         nil,
		"text":          []byte("#!/bin/sh\necho not a kernel\n"),
		"gzip text":     gzipped([]byte("hello")),
		"short gzip":    {0x1f, 0x8b, 8},
		"riscv ELF":     kerneltest.ELF(243, "6.1", nil),
		"broken ELF":    []byte("\x7fELF\x02\x01\x01"),
		"short HdrS":    append(make([]byte, 0x202), "HdrS"...),
		"PE not zimg":   append([]byte("MZ"), make([]byte, 100)...),
		"zboot outside": append([]byte("MZ\x00\x00zimg\xff\xff\x00\x00\x10\x00\x00\x00"), make([]byte, 40)...),
	} {
		if _, err := Identify(b); !errors.Is(err, ErrNotKernel) {
			t.Errorf("Identify(%s) = %v, want ErrNotKernel", name, err)
		}
	}
}

func TestIKConfigGarbage(t *testing.T) {
	for name, k := range map[string][]byte{
		"no end":       []byte("IKCFG_ST\x1f\x8b"),
		"not gzip":     []byte("IKCFG_STxxxxIKCFG_ED"),
		"nothing":      []byte("Linux version 6.1.0 ("),
		"empty stream": []byte("IKCFG_STIKCFG_ED"),
	} {
		if _, err := IKConfig(k); err == nil {
			t.Errorf("IKConfig(%s) = nil error", name)
		}
	}
}

// TestRealKernels identifies the Debian kernels of the cache, if any.
func TestRealKernels(t *testing.T) {
	cache := os.Getenv("BPFMATRIX_CACHE")
	if cache == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			t.Skip(err)
		}
		cache = filepath.Join(d, "bpfmatrix")
	}
	images, _ := filepath.Glob(filepath.Join(cache, "kernels", "debian-*", "vmlinuz"))
	if len(images) == 0 {
		t.Skip("no cached Debian kernel")
	}
	for _, p := range images[:min(len(images), 2)] {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		info, err := Identify(b)
		if err != nil {
			t.Fatalf("Identify(%s) = %v", p, err)
		}
		k, err := Uncompressed(b, info)
		if err != nil {
			t.Fatalf("Uncompressed(%s) = %v", p, err)
		}
		if r := Release(k); r == "" || (info.Release != "" && r != info.Release) {
			t.Errorf("%s: banner release %q, header release %q", p, r, info.Release)
		}
	}
}

// FuzzIdentify feeds garbage to every reader: none may panic.
func FuzzIdentify(f *testing.F) {
	f.Add(kerneltest.BzImage("6.1.0", []byte(config)))
	f.Add(kerneltest.ARM64Image("6.6.1", []byte(config)))
	f.Add(gzipped(kerneltest.ARM64Image("6.6.1", nil)))
	f.Add(kerneltest.ELF(183, "6.12.0", []byte(config)))
	f.Add(kerneltest.Zboot(kerneltest.ARM64Image("6.12.1", nil)))
	f.Add([]byte("IKCFG_ST\x1f\x8b\x08\x00IKCFG_ED"))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := Identify(b)
		if err != nil {
			return
		}
		k, err := Uncompressed(b, info)
		if err != nil {
			return
		}
		Release(k)
		IKConfig(k)
	})
}
