package guest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bpfmatrix/bpfmatrix/internal/wire"
)

// ExecBaseEnv is the environment every raw-exec program starts from; the
// host's [wire.Exec.Env] comes after it and wins.
var ExecBaseEnv = []string{
	"PATH=/bbin:/bin:/ubin:/sbin:/usr/bin:/usr/sbin",
	"HOME=/tmp",
	"TMPDIR=/tmp",
	wire.EnvGuest + "=1",
}

// maxChunk bounds the bytes carried by one output event, well below
// wire.MaxFrame after base64.
const maxChunk = 32 << 10

// runExec runs e and reports its output and exit.
func (r *Runner) runExec(ctx context.Context, e *wire.Exec) {
	start := time.Now()
	ex := &wire.Exit{}
	defer func() {
		ex.Seconds = time.Since(start).Seconds()
		r.Enc.Encode(wire.Event{Type: wire.TypeExit, Exit: ex})
	}()
	cmd := exec.CommandContext(ctx, e.Path, e.Args...)
	cmd.Dir = e.Dir
	if cmd.Dir == "" {
		cmd.Dir = "/"
	}
	cmd.Env = append(append([]string(nil), ExecBaseEnv...), r.Config.Env...)
	cmd.Env = append(cmd.Env, e.Env...)
	var wg sync.WaitGroup
	if e.Console != "" {
		tty, err := os.OpenFile(e.Console, os.O_RDWR, 0)
		if err != nil {
			ex.Code, ex.Error = -1, fmt.Sprintf("open console: %v", err)
			return
		}
		defer tty.Close()
		if e.Rows > 0 && e.Cols > 0 {
			_ = unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: uint16(e.Rows), Col: uint16(e.Cols)})
		}
		cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	} else {
		cmd.Stdin = nil // /dev/null
		for _, s := range []struct {
			name string
			set  *io.Writer
		}{{wire.Stdout, &cmd.Stdout}, {wire.Stderr, &cmd.Stderr}} {
			pr, pw, err := os.Pipe()
			if err != nil {
				ex.Code, ex.Error = -1, err.Error()
				return
			}
			defer pw.Close()
			*s.set = pw
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer pr.Close()
				r.stream(s.name, pr)
			}()
		}
	}
	err := cmd.Start()
	// The parent's write ends must close so the readers see EOF when the
	// program (and whatever inherited its pipes) is gone.
	if w, ok := cmd.Stdout.(*os.File); ok && e.Console == "" {
		w.Close()
	}
	if w, ok := cmd.Stderr.(*os.File); ok && e.Console == "" {
		w.Close()
	}
	if err != nil {
		wg.Wait()
		ex.Code, ex.Error = -1, fmt.Sprintf("start %s: %v", e.Path, err)
		return
	}
	err = cmd.Wait()
	wg.Wait()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		ex.Code = exit.ExitCode()
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			ex.Error = "killed by " + ws.Signal().String()
		}
	case err != nil:
		ex.Code, ex.Error = -1, err.Error()
	}
}

// stream forwards what the program writes on one stream, a read at a time,
// so that output arrives while the program runs.
func (r *Runner) stream(name string, rd io.Reader) {
	buf := make([]byte, maxChunk)
	for {
		n, err := rd.Read(buf)
		if n > 0 {
			data := append([]byte(nil), buf[:n]...)
			r.Enc.Encode(wire.Event{Type: wire.TypeOutput, Output: &wire.Output{Stream: name, Data: data}})
		}
		if err != nil {
			return
		}
	}
}
