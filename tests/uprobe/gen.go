package uprobe

// The probed program, a freestanding static binary per architecture. Each is
// stripped of everything but the probed symbol and built without a build
// ID or .comment, so rebuilding with the same Debian toolchain (gcc and
// gcc-aarch64-linux-gnu) reproduces the same bytes.
//go:generate x86_64-linux-gnu-gcc -static -nostdlib -ffreestanding -fno-pie -no-pie -O1 -fno-stack-protector -fno-asynchronous-unwind-tables -fno-ident -Wall -Werror -Wl,--build-id=none -I../internal/ctarget -o testdata/target_amd64 testdata/target.c
//go:generate x86_64-linux-gnu-strip --strip-all --keep-symbol=bpfmatrix_uprobe_target --remove-section=.comment testdata/target_amd64
//go:generate aarch64-linux-gnu-gcc -static -nostdlib -ffreestanding -fno-pie -no-pie -O1 -fno-stack-protector -fno-asynchronous-unwind-tables -fno-ident -Wall -Werror -Wl,--build-id=none -I../internal/ctarget -o testdata/target_arm64 testdata/target.c
//go:generate aarch64-linux-gnu-strip --strip-all --keep-symbol=bpfmatrix_uprobe_target --remove-section=.comment testdata/target_arm64
