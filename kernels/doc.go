// Package kernels fetches, verifies, caches and pins the kernels that
// bpfmatrix boots in QEMU, from three sources that all yield the same
// Kernel (image, config, module tree, release, provenance):
//
//   - apt archives (Debian's, Ubuntu's): catalog entries such as
//     "debian-6.1", resolved through the suite's (and its security
//     suite's) Packages index, pinned by package SHA256;
//   - OCI images ("oci:REGISTRY/REPO:TAG", package oci), pinned by the
//     manifest digest of the guest platform's image;
//   - local files ("file:/path/to/bzImage"), identified by content hash.
//
// A Spec from the catalog (package catalog; by default its embedded
// catalog.json) names a kernel, e.g. "debian-6.1" = suite bookworm, version
// 6.1, arch amd64, flavour cloud, or an oci: or file: reference. A Store
// resolves a catalog entry against a Debian mirror's Packages index (package
// apt) to the newest matching linux-image package (and, for split kernels,
// the linux-base/linux-binary/linux-modules packages it depends on), records
// the exact packages and checksums in the lock file (package lock,
// bpfmatrix.lock) so later runs use the same kernel, downloads and verifies
// the .deb files, and extracts vmlinuz, config and the module tree into a
// content-addressed cache directory:
//
//	<cache>/kernels/<name>-<release>-<hash>/
//		vmlinuz
//		config
//		modules/<release>/...
//		kernel.json   (written last; marks the directory complete)
//
// Subpackages: catalog holds the catalog and references, lock the lock
// file, apt chooses apt archives and resolves kernels in them; underneath,
// deb reads .deb files (and OCI layers) safely, debian talks to apt
// archives, oci to OCI registries, kimage identifies kernel images and
// bzimage unpacks x86 ones.
package kernels
