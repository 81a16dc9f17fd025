package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bpfmatrix/bpfmatrix/harness"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

// quitKey ends a shell session from the host: Ctrl-] (as in telnet).
const quitKey = 0x1d

const shellUsage = `Usage: bpfmatrix shell --kernel NAME [flags]

Boots one VM of the kernel with u-root's shell (gosh) on its console and
connects it to your terminal: bpffs, tracefs, debugfs and cgroup2 are
mounted as for the suites, --modules are loaded, and ls, cat, dmesg, mount,
ps, lsmod, insmod, rmmod, grep are there; the up arrow recalls history and
Tab completes. Type "exit" (or press Ctrl-] at
any time) to power the VM off and quit. The VM is killed after --timeout.

Flags:
`

func shellCmd(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, args []string) error {
	fs := flag.NewFlagSet("shell", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, shellUsage); fs.PrintDefaults() }
	var vf vmFlags
	vf.register(fs, vmDefaults{timeout: time.Hour, timeoutHelp: "kill the VM after `D`", cpus: 2, moduleLock: true})
	kernel := fs.String("kernel", "", "kernel `NAME` to boot (see `bpfmatrix kernels list`)")
	modules := fs.String("modules", "", "comma-separated kernel `MODULES` to pack and load (e.g. veth,sch_ingress,cls_bpf)")
	var envAdd listFlag
	fs.Var(&envAdd, "env", "set `KEY=VALUE` in the shell (repeatable)")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if *kernel == "" || fs.NArg() > 0 {
		return fmt.Errorf("%w: shell needs exactly one --kernel NAME and no arguments", errUsage)
	}
	if err := vf.validate(); err != nil {
		return err
	}
	specs, err := selectKernels(*kernel)
	if err != nil || len(specs) != 1 {
		return fmt.Errorf("%w: --kernel %s: %v", errUsage, *kernel, err)
	}
	setup, err := vf.setup(ctx, "shell", downloadProgress(stderr))
	if err != nil {
		return err
	}
	setup.Log = &crlfWriter{stderr}
	ctx, quit := context.WithCancel(ctx)
	defer quit()
	rows, cols := 24, 80
	if f, ok := stdin.(*os.File); ok {
		if ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ); err == nil && ws.Row > 0 {
			rows, cols = int(ws.Row), int(ws.Col)
		}
		restore, err := makeRaw(f)
		if err == nil {
			defer restore()
		}
	}
	fmt.Fprintf(stderr, "bpfmatrix: booting %s with a shell; type \"exit\" or press Ctrl-] to quit (VM timeout %s)\r\n", *kernel, setup.VM.Timeout)
	se, err := harness.Shell(ctx, harness.ShellOptions{
		Setup: setup, Kernel: specs[0], Modules: splitList(*modules), Env: envAdd,
		Rows: rows, Cols: cols, Stdin: &quitReader{r: stdin, quit: quit}, Stdout: stdout,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "\r\nbpfmatrix: %s (console log %s)\r\n", se, se.ConsoleLog)
	if se.Status != results.StatusOK && se.Status != results.StatusInterrupted {
		return errFailed
	}
	return nil
}

// quitReader passes the terminal's input through until the quit key,
// where it calls quit and ends.
type quitReader struct {
	r    io.Reader
	quit func()
	done bool
}

func (q *quitReader) Read(p []byte) (int, error) {
	if q.done {
		return 0, io.EOF
	}
	n, err := q.r.Read(p)
	for i := 0; i < n; i++ {
		if p[i] == quitKey {
			q.done = true
			q.quit()
			return i, nil
		}
	}
	return n, err
}

// crlfWriter ends lines with CR LF, for a terminal in raw mode.
type crlfWriter struct{ w io.Writer }

func (c *crlfWriter) Write(b []byte) (int, error) {
	out := make([]byte, 0, len(b)+8)
	for _, x := range b {
		if x == '\n' {
			out = append(out, '\r')
		}
		out = append(out, x)
	}
	if _, err := c.w.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

// makeRaw puts the terminal f in raw mode (as cfmakeraw) and returns the
// function that restores it. It fails if f is not a terminal.
func makeRaw(f *os.File) (restore func(), err error) {
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	t := *old
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &t); err != nil {
		return nil, err
	}
	return func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }, nil
}
