package deb

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

const (
	arMagic      = "!<arch>\n"
	arHeaderSize = 60
)

// arReader reads the members of a Unix ar archive, the container format of
// a Debian binary package.
type arReader struct {
	r       *bufio.Reader
	limits  Limits
	members int
	cur     *io.LimitedReader
	pad     bool
}

func newARReader(r io.Reader, limits Limits) (*arReader, error) {
	br := bufio.NewReader(r)
	magic := make([]byte, len(arMagic))
	if _, err := io.ReadFull(br, magic); err != nil {
		return nil, fmt.Errorf("%w: reading ar global header: %v", ErrFormat, err)
	}
	if string(magic) != arMagic {
		return nil, fmt.Errorf("%w: missing ar global header %q (got %q); is this really a .deb file?", ErrFormat, arMagic, magic)
	}
	return &arReader{r: br, limits: limits}, nil
}

// next skips the rest of the current member and returns the name and size
// of the next one. It returns io.EOF at the end of the archive.
func (a *arReader) next() (string, int64, error) {
	if a.cur != nil {
		if _, err := io.Copy(io.Discard, a.cur); err != nil {
			return "", 0, fmt.Errorf("%w: skipping ar member: %v", ErrFormat, err)
		}
		if a.cur.N > 0 {
			return "", 0, fmt.Errorf("%w: truncated ar member", ErrFormat)
		}
		if a.pad {
			if _, err := a.r.ReadByte(); err != nil && !errors.Is(err, io.EOF) {
				return "", 0, fmt.Errorf("%w: reading ar padding: %v", ErrFormat, err)
			}
		}
		a.cur = nil
	}
	var hdr [arHeaderSize]byte
	n, err := io.ReadFull(a.r, hdr[:])
	if n == 0 && errors.Is(err, io.EOF) {
		return "", 0, io.EOF
	}
	if err != nil {
		return "", 0, fmt.Errorf("%w: truncated ar member header", ErrFormat)
	}
	if string(hdr[58:60]) != "`\n" {
		return "", 0, fmt.Errorf("%w: bad ar member header terminator %q", ErrFormat, hdr[58:60])
	}
	a.members++
	if a.members > a.limits.MaxMembers {
		return "", 0, fmt.Errorf("%w: more than %d ar members", ErrTooLarge, a.limits.MaxMembers)
	}
	name := strings.TrimRight(string(bytes.TrimRight(hdr[0:16], " ")), "/")
	sizeField := strings.TrimSpace(string(hdr[48:58]))
	size, err := strconv.ParseInt(sizeField, 10, 64)
	if err != nil || size < 0 {
		return "", 0, fmt.Errorf("%w: ar member %q has invalid size %q", ErrFormat, name, sizeField)
	}
	if size > a.limits.MaxTotalSize {
		return "", 0, fmt.Errorf("%w: ar member %q is %d bytes, limit is %d", ErrTooLarge, name, size, a.limits.MaxTotalSize)
	}
	a.cur = &io.LimitedReader{R: a.r, N: size}
	a.pad = size%2 == 1
	return name, size, nil
}

// Read reads from the current member.
func (a *arReader) Read(p []byte) (int, error) {
	if a.cur == nil {
		return 0, io.EOF
	}
	n, err := a.cur.Read(p)
	if errors.Is(err, io.EOF) && a.cur.N > 0 {
		return n, fmt.Errorf("%w: truncated ar member", ErrFormat)
	}
	return n, err
}
