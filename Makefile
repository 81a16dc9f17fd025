# bpfmatrix: run `make help` for the targets.
SHELL := /bin/bash
GO ?= go
# Debian packages: QEMU for the VMs and erofs-utils for the disk images they
# mount (the kernel's modules and config, your module); the rest only to regenerate the BPF
# objects and the uprobe suite's static C target (amd64 and arm64).
QEMU_PKGS ?= qemu-system-x86 qemu-system-arm erofs-utils
BPF_PKGS ?= clang llvm libbpf-dev gcc gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu
# Only the report tests need these: headless Chromium renders the HTML report,
# xmllint validates the JUnit output.
TEST_PKGS ?= chromium libxml2-utils
ARGS ?=

.DEFAULT_GOAL := help

##@ Main

.PHONY: run
run: deps ## Run the default kernel matrix with the built-in suites (ARGS="--kernels debian-6.1" to narrow)
	$(GO) run ./cmd/bpfmatrix run $(ARGS)

.PHONY: test
test: deps test-deps ## Run every test, including the VM integration tests (boots the default kernels)
	$(GO) test -count=1 -timeout 40m ./...

##@ Development

FUZZTIME ?= 60s

.PHONY: test-short
test-short: ## Unit tests only, no VMs
	$(GO) test -short ./...

.PHONY: fuzz
fuzz: ## Fuzz the parsers of untrusted input, FUZZTIME each (default 60s): the guest's result stream, kernel images
	$(GO) test -run '^$$' -fuzz '^FuzzDecoder$$' -fuzztime $(FUZZTIME) ./internal/wire
	$(GO) test -run '^$$' -fuzz '^FuzzUnpack$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 3s ./kernels/bzimage

.PHONY: bench
bench: deps ## Time every phase against the boot floor: one trivial test, then every suite on x86_64 and arm64 (BENCH_COLD=1: downloads too)
	$(GO) run ./cmd/bpfmatrix bench --kernels debian-6.1 --suite '^kprobe$$' --run 'TestKprobe$$' $(if $(BENCH_COLD),--cold)
	$(GO) run ./cmd/bpfmatrix bench --kernels debian-5.10,debian-6.1,debian-6.12,debian-7.2 $(if $(BENCH_COLD),--cold)
	$(GO) run ./cmd/bpfmatrix bench --kernels debian-5.10-arm64,debian-6.1-arm64,debian-6.12-arm64 --floor-runs 1
	$(if $(BENCH_COLD),$(MAKE) --no-print-directory bench-cold)
	$(if $(EBPF),$(MAKE) --no-print-directory bench-test)

MATRIX ?= debian-5.10,debian-6.1,debian-6.12,debian-7.2

.PHONY: bench-test
bench-test: deps ## Time bpfmatrix test -- -short against go test -short -exec 'bpfmatrix exec' on a copy of EBPF=DIR (a cilium/ebpf git checkout) on KERNEL (debian-6.12), compare pass/fail per test, print the harness overhead, then time it on MATRIX (the four x86 kernels); make bench runs it when EBPF is set
	@test -n "$(EBPF)" || { echo "bench-test: EBPF=DIR, a git checkout of cilium/ebpf (the module proxy's zip drops testdata symlinks)"; exit 2; }
	@work=$$(mktemp -d); trap 'rm -rf "$$work"' EXIT; cp -a "$(EBPF)" "$$work/ebpf" && \
	$(GO) build -o "$$work/bpfmatrix" ./cmd/bpfmatrix && \
	$(GO) run ./internal/cmd/benchtest -bpfmatrix "$$work/bpfmatrix" -kernel $(or $(KERNEL),debian-6.12) -matrix "$(MATRIX)" -dir "$$work/ebpf"

.PHONY: bench-cold
bench-cold: deps ## Time a cold run of the default matrix: empty cache, so downloads (about 200 MB) and image builds count
	@cache=$$(mktemp -d); trap 'rm -rf "$$cache"' EXIT; \
	$(GO) build -o "$$cache/bpfmatrix" ./cmd/bpfmatrix && \
	start=$$(date +%s.%N) && \
	BPFMATRIX_CACHE="$$cache/cache" "$$cache/bpfmatrix" run --quiet --json "$$cache/cold.json"; rc=$$?; \
	echo "cold default matrix: $$(awk -v s=$$start -v e=$$(date +%s.%N) 'BEGIN { printf "%.1f", e - s }') s wall (empty cache, downloads and image builds included; exit $$rc)"; exit $$rc

.PHONY: build
build: ## Build bin/bpfmatrix
	$(GO) build -o bin/bpfmatrix ./cmd/bpfmatrix

.PHONY: generate
generate: bpf-deps ## Regenerate the BPF objects, their Go bindings (bpf2go) and the uprobe target
	$(GO) generate ./bpf/... ./tests/...

.PHONY: check-generate
check-generate: generate ## Fail if regenerating the BPF objects changes the committed ones
	@git diff --exit-code -- bpf/ tests/ && test -z "$$(git status --porcelain -- bpf/ tests/)" || { git status --short -- bpf/ tests/; echo "generated files differ from 'make generate': run it and commit"; exit 1; }

.PHONY: lint
lint: ## gofmt and go vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "run gofmt -w"; exit 1; }
	$(GO) vet ./...

.PHONY: deps
deps: ## Install QEMU through apt if it is missing (as root or with sudo)
	@command -v $(GO) >/dev/null || { echo "Go is missing: install Go 1.26 or newer (https://go.dev/doc/install)"; exit 1; }
	@command -v qemu-system-x86_64 >/dev/null && command -v qemu-system-aarch64 >/dev/null && command -v mkfs.erofs >/dev/null || $(MAKE) --no-print-directory apt PKGS="$(QEMU_PKGS)"

.PHONY: test-deps
test-deps:
	@command -v chromium >/dev/null && command -v xmllint >/dev/null || $(MAKE) --no-print-directory apt PKGS="$(TEST_PKGS)"

.PHONY: bpf-deps
bpf-deps:
	@command -v clang >/dev/null && command -v llvm-strip >/dev/null && test -f /usr/include/bpf/bpf_helpers.h \
		&& command -v aarch64-linux-gnu-gcc >/dev/null || $(MAKE) --no-print-directory apt PKGS="$(BPF_PKGS)"

# Without recommended packages: QEMU's recommendations (GUI, GStreamer, VA drivers, EFI
# firmware, block drivers) are not needed to boot a kernel with -kernel. On Debian 12, from a
# minimal system (required + important packages), qemu-system-x86 and qemu-system-arm are
# 53 new packages this way against 336 with recommendations (apt-get install -s, 2026-12-01).
APT_INSTALL = apt-get install -y -q --no-install-recommends

.PHONY: apt
apt:
	@if [ "$$(id -u)" = 0 ]; then apt-get update -q && $(APT_INSTALL) $(PKGS); \
	elif command -v sudo >/dev/null && { sudo -n true 2>/dev/null || [ -t 0 ]; }; then sudo apt-get update -q && sudo $(APT_INSTALL) $(PKGS); \
	else echo "Missing system packages. Run:  sudo $(APT_INSTALL) $(PKGS)"; exit 1; fi

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*##"} /^##@/ {printf "\n%s\n", substr($$0, 5)} /^[a-zA-Z_-]+:.*##/ {printf "  make %-15s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
