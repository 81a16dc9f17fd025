package oci

import (
	"archive/tar"
	"errors"
	"testing"
)

func TestSelector(t *testing.T) {
	reg := &tar.Header{Typeflag: tar.TypeReg}
	for _, tc := range []struct {
		name, want string
		ok         bool
	}{
		{"boot/vmlinuz", "boot/vmlinuz", true},
		{"boot/vmlinuz-6.6.30", "boot/vmlinuz-6.6.30", true},
		{"data/kernels/6.6/boot/vmlinuz-6.6.30", "boot/vmlinuz-6.6.30", true},
		{"data/kernels/6.6/boot/config-6.6.30", "boot/config-6.6.30", true},
		{"boot/System.map-6.6.30", "", false},
		{"lib/modules/6.6.30/kernel/net/veth.ko", "modules/6.6.30/kernel/net/veth.ko", true},
		{"data/kernels/6.6/lib/modules/6.6.30/modules.order", "modules/6.6.30/modules.order", true},
		{"lib/modules/6.6.30/build", "", false},
		{"lib/modules/6.6.30/source", "", false},
		{"usr/src/linux/tools/testing/selftests/bpf/test_progs", "", false},
		{"usr/src/linux/boot/vmlinuz", "", false},
		{"bin/busybox", "", false},
		{"etc/passwd", "", false},
	} {
		got, ok := Selector(tc.name, reg)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Selector(%q) = %q, %v, want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseRef(t *testing.T) {
	for _, tc := range []struct {
		ref string
		ok  bool
	}{
		{"registry.example/cilium/ci-kernels:6.6", true},
		{"127.0.0.1:5000/cilium/ci-kernels:6.6", true},
		{"localhost/kernels:6.6", true},
		{"registry.example/kernels@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true},
		{"ci-kernels:6.6", false},         // no registry: never Docker Hub by surprise
		{"cilium/ci-kernels:6.6", false},  // idem
		{"registry.example/Bad:1", false}, // upper case
		{"registry.example/x:bad tag", false},
	} {
		_, err := ParseRef(tc.ref)
		if (err == nil) != tc.ok {
			t.Errorf("ParseRef(%q) = %v, want ok %v", tc.ref, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrRef) {
			t.Errorf("ParseRef(%q) = %v, want ErrRef", tc.ref, err)
		}
	}
}
