// Package kernels fetches, verifies, caches and pins the Debian kernels that
// bpfmatrix boots in QEMU.
//
// A Catalog (by default the embedded catalog.json) names the kernels, e.g.
// "debian-6.1" = suite bookworm, version 6.1, arch amd64, flavour cloud. A
// Store resolves a catalog entry against a Debian mirror's Packages index to
// the newest matching linux-image package (and, for split kernels, the
// linux-base/linux-binary/linux-modules packages it depends on), records the
// exact packages and checksums in a lock file (bpfmatrix.lock) so later runs
// use the same kernel, downloads and verifies the .deb files, and extracts
// vmlinuz, config and the module tree into a content-addressed cache
// directory:
//
//	<cache>/kernels/<name>-<release>-<hash>/
//		vmlinuz
//		config
//		modules/<release>/...
//		kernel.json   (written last; marks the directory complete)
//
// Subpackage deb reads .deb files safely and subpackage debian talks to
// Debian mirrors.
package kernels
