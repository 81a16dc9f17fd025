package fallback

// The program TestMultiUprobe probes, a freestanding static binary per
// architecture, built like tests/uprobe's target: stripped of everything
// but the probed symbols, without a build ID or .comment, so rebuilding
// with the same Debian toolchain reproduces the same bytes.
//go:generate x86_64-linux-gnu-gcc -static -nostdlib -ffreestanding -fno-pie -no-pie -O1 -fno-stack-protector -fno-asynchronous-unwind-tables -fno-ident -Wall -Werror -Wl,--build-id=none -I../internal/ctarget -o testdata/target_amd64 testdata/target.c
//go:generate x86_64-linux-gnu-strip --strip-all --keep-symbol=bpfmatrix_fallback_one --keep-symbol=bpfmatrix_fallback_two --keep-symbol=bpfmatrix_fallback_three --remove-section=.comment testdata/target_amd64
//go:generate aarch64-linux-gnu-gcc -static -nostdlib -ffreestanding -fno-pie -no-pie -O1 -fno-stack-protector -fno-asynchronous-unwind-tables -fno-ident -Wall -Werror -Wl,--build-id=none -I../internal/ctarget -o testdata/target_arm64 testdata/target.c
//go:generate aarch64-linux-gnu-strip --strip-all --keep-symbol=bpfmatrix_fallback_one --keep-symbol=bpfmatrix_fallback_two --keep-symbol=bpfmatrix_fallback_three --remove-section=.comment testdata/target_arm64
