package counter

import (
	"os"
	"strings"
	"testing"

	"syscall"
)

func TestCountsDatagrams(t *testing.T) {
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fds[0])
	defer syscall.Close(fds[1])
	if err := c.Attach(fds[1]); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	for _, msg := range []string{"one", "two", "three"} {
		if _, err := syscall.Write(fds[0], []byte(msg)); err != nil {
			t.Fatal(err)
		}
		n, err := syscall.Read(fds[1], buf)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(buf[:n]); got != msg {
			t.Fatalf("received %q, want %q", got, msg)
		}
	}
	n, err := c.Count()
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("filter counted %d datagrams, want 3", n)
	}
	release, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	t.Logf("counted %d datagrams on kernel %s (BPFMATRIX_KERNEL=%q)", n, strings.TrimSpace(string(release)), os.Getenv("BPFMATRIX_KERNEL"))
}

// TestTestdata reads a file relative to the package directory, as tests do.
func TestTestdata(t *testing.T) {
	b, err := os.ReadFile("testdata/greeting.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(b)); got != "hello from testdata" {
		t.Fatalf("testdata/greeting.txt = %q", got)
	}
}

// TestEnv checks a variable set on the host: EXAMPLE_GREETING.
func TestEnv(t *testing.T) {
	v, ok := os.LookupEnv("EXAMPLE_GREETING")
	if !ok {
		t.Skip("EXAMPLE_GREETING is not set")
	}
	if v != "hello from the host" {
		t.Fatalf("EXAMPLE_GREETING = %q, want %q", v, "hello from the host")
	}
}

// TestFailOnRequest fails when EXAMPLE_FAIL is set: it proves that a
// failure inside a VM fails go test.
func TestFailOnRequest(t *testing.T) {
	if os.Getenv("EXAMPLE_FAIL") != "" {
		t.Fatalf("failing on request (EXAMPLE_FAIL=%s)", os.Getenv("EXAMPLE_FAIL"))
	}
}
