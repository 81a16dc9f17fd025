// Command bpfmatrix-guest is the init of each bpfmatrix VM. It sets up the
// root file system with u-root's libinit, as u-root's init does, then reads
// /bpfmatrix/run.json, runs the test binaries it names, streams their
// events to the host and powers the VM off. It is built and packed into the
// initramfs by the host; users never run it by hand.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/u-root/u-root/pkg/libinit"

	"github.com/bpfmatrix/bpfmatrix/guest"
	"github.com/bpfmatrix/bpfmatrix/internal/wire"
)

func main() {
	if filepath.Base(os.Args[0]) == filepath.Base(wire.ModprobePath) {
		// The kernel loads a module on demand (request_module).
		os.Exit(guest.ModprobeMain(os.Args[1:], os.Stderr))
	}
	probe := flag.String("probe", "", "send a hello event on this channel device and power off (accelerator probe)")
	floor := flag.Bool("floor", false, "power off at once: the boot floor that `bpfmatrix bench` measures (run as /init)")
	flag.Parse()
	if *floor {
		guest.PowerOff()
		select {}
	}
	log.SetPrefix("bpfmatrix-guest: ")
	if os.Getpid() == 1 {
		// u-root's init would do this and then start us as its uinit;
		// doing it here saves starting a second Go program on every boot
		// (0.3 s under TCG, measured by `bpfmatrix bench`).
		libinit.SetEnv()
		libinit.CreateRootfs()
		libinit.NetInit()
	}
	if err := run(*probe); err != nil {
		log.Print(err)
	}
	if err := guest.PowerOff(); err != nil {
		log.Printf("power off: %v", err)
	}
	select {}
}

func run(probe string) error {
	mountErr := guest.MountAll()
	if probe != "" {
		ch, err := guest.OpenChannel(probe)
		if err != nil {
			return err
		}
		return wire.NewEncoder(ch).Encode(wire.Event{Type: wire.TypeHello, Hello: guest.Hello()})
	}
	cfg, err := wire.LoadConfig(wire.ConfigPath)
	if err != nil {
		return err
	}
	ch, err := guest.OpenChannel(cfg.Channel)
	if err != nil {
		return err
	}
	defer ch.Close()
	enc := wire.NewEncoder(ch)
	if err := enc.Encode(wire.Event{Type: wire.TypeHello, Hello: guest.Hello()}); err != nil {
		return err
	}
	if mountErr != nil {
		// Reported, not fatal: the tests that need the mount will fail
		// with their own error, and the rest still run.
		enc.Encode(wire.Event{Type: wire.TypeLog, Log: fmt.Sprintf("mounts: %v", mountErr)})
	}
	if err := guest.SetModprobe(); err != nil {
		enc.Encode(wire.Event{Type: wire.TypeLog, Log: fmt.Sprintf("modprobe: %v", err)})
	}
	if cfg.Exec == nil || cfg.Exec.Console == "" {
		// One line on the console, which a quiet kernel leaves empty: the
		// console log of a VM that hangs or times out says init ran.
		log.Printf("%s", cfg.Summary())
	}
	r := &guest.Runner{Config: cfg, Enc: enc, KernelLog: "/dev/kmsg"}
	if err := r.Run(context.Background()); err != nil {
		return err
	}
	return nil
}

func init() {
	// The kernel hands init the console as stderr; keep log lines there.
	log.SetOutput(os.Stderr)
}
