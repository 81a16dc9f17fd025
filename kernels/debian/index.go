package debian

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/ulikunitz/xz"
)

// ErrChecksum is returned when downloaded data does not match the size or
// SHA256 checksum it was published with.
var ErrChecksum = errors.New("checksum mismatch")

// ErrIndex is returned for malformed Release or Packages files.
var ErrIndex = errors.New("malformed Debian archive index")

// Size caps for index files.
const (
	maxReleaseSize = 32 << 20
	maxIndexSize   = 1 << 30
)

// Package identifies one downloadable .deb exactly.
type Package struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	Filename string `json:"filename"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
}

// Entry is one stanza of a Packages index.
type Entry struct {
	Package
	Architecture string
	Depends      string
	Source       string
}

// Index is a parsed Packages index of one suite and architecture.
type Index struct {
	// Mirror, Suite and Arch describe where the index came from; they are
	// empty for indexes built with ParseIndex.
	Mirror, Suite, Arch string
	// Entries holds all stanzas in file order.
	Entries []Entry

	byName map[string][]int
}

// ParseIndex parses a decompressed Packages file.
func ParseIndex(r io.Reader) (*Index, error) {
	idx := &Index{byName: map[string][]int{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 256*1024), 16<<20)
	var cur Entry
	var have bool
	line := 0
	flush := func() error {
		if !have {
			return nil
		}
		have = false
		if cur.Name == "" {
			return fmt.Errorf("%w: Packages stanza ending at line %d has no Package field", ErrIndex, line)
		}
		idx.byName[cur.Name] = append(idx.byName[cur.Name], len(idx.Entries))
		idx.Entries = append(idx.Entries, cur)
		cur = Entry{}
		return nil
	}
	for sc.Scan() {
		line++
		text := sc.Text()
		if strings.TrimSpace(text) == "" {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		if text[0] == ' ' || text[0] == '\t' || text[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(text, ":")
		if !ok {
			return nil, fmt.Errorf("%w: Packages line %d: no field name in %q", ErrIndex, line, truncate(text))
		}
		have = true
		v = strings.TrimSpace(v)
		switch k {
		case "Package":
			cur.Name = v
		case "Version":
			cur.Version = v
		case "Architecture":
			cur.Architecture = v
		case "Filename":
			cur.Filename = v
		case "Size":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("%w: Packages line %d: bad Size %q", ErrIndex, line, v)
			}
			cur.Size = n
		case "SHA256":
			cur.SHA256 = strings.ToLower(v)
		case "Depends":
			cur.Depends = v
		case "Source":
			cur.Source = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading Packages: %w", err)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return idx, nil
}

// Lookup returns the entries for the package name, in file order.
func (idx *Index) Lookup(name string) []Entry {
	var out []Entry
	for _, i := range idx.byName[name] {
		out = append(out, idx.Entries[i])
	}
	return out
}

// FetchIndex downloads and parses the main Packages index for suite and
// arch from mirror: <mirror>/dists/<suite>/main/binary-<arch>/Packages.xz.
//
// The index is only returned after its SHA256 and size matched those listed
// in <mirror>/dists/<suite>/Release (or InRelease, with the PGP armor
// stripped). NOTE: the OpenPGP signature of the Release file itself is NOT
// verified, so this protects against corruption and inconsistent mirrors,
// not against a malicious mirror; use an https mirror you trust.
func FetchIndex(ctx context.Context, client *http.Client, mirror, suite, arch string) (*Index, error) {
	return FetchComponentIndex(ctx, client, mirror, suite, "main", arch)
}

// FetchComponentIndex is FetchIndex for another component of the archive
// than main (Ubuntu's restricted, universe).
//
// Of the compressions Release lists, Packages.gz is read first: gzip
// decodes a 50 MB index in a fraction of a second where xz takes several
// (Debian's suites serve both; the security archive only xz). A listed
// Packages.gz that the mirror does not serve falls back to Packages.xz.
func FetchComponentIndex(ctx context.Context, client *http.Client, mirror, suite, component, arch string) (*Index, error) {
	mirror = strings.TrimRight(mirror, "/")
	if mirror == "" {
		return nil, fmt.Errorf("%w: empty mirror URL; set BPFMATRIX_DEBIAN_MIRROR or pass --mirror", ErrNoMirror)
	}
	rel, err := fetchRelease(ctx, client, mirror, suite)
	if err != nil {
		return nil, err
	}
	base := component + "/binary-" + arch + "/Packages"
	var tried []string
	for _, ext := range []string{".gz", ".xz"} {
		want, ok := rel[base+ext]
		if !ok {
			continue
		}
		idx, err := fetchPackages(ctx, client, mirror+"/dists/"+suite+"/"+base+ext, ext, want)
		if ext == ".gz" && errors.Is(err, ErrNotFound) {
			tried = append(tried, base+ext)
			continue
		}
		if err != nil {
			return nil, err
		}
		idx.Mirror, idx.Suite, idx.Arch = mirror, suite, arch
		return idx, nil
	}
	if len(tried) > 0 {
		return nil, fmt.Errorf("%w: %s/dists/%s serves none of %s listed in its Release", ErrNotFound, mirror, suite, strings.Join(tried, ", "))
	}
	return nil, fmt.Errorf("%w: %s/dists/%s/Release does not list %s.xz; is %q a valid architecture for suite %q?", ErrIndex, mirror, suite, base, arch, suite)
}

// fetchPackages downloads, checks against want and parses one compressed
// Packages index.
func fetchPackages(ctx context.Context, client *http.Client, url, ext string, want releaseFile) (*Index, error) {
	resp, err := get(ctx, client, url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()

	h := sha256.New()
	counted := &countingReader{r: io.LimitReader(resp.Body, want.size+1)}
	compressed := io.TeeReader(counted, h)
	var r io.Reader
	switch ext {
	case ".gz":
		zr, err := gzip.NewReader(compressed)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrIndex, url, err)
		}
		r = zr
	default:
		xr, err := xz.NewReader(compressed)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrIndex, url, err)
		}
		r = xr
	}
	idx, perr := ParseIndex(&limitErrReader{r: r, left: maxIndexSize})
	// Drain so the checksum covers the whole body.
	if _, err := io.Copy(io.Discard, compressed); err != nil && perr == nil {
		perr = fmt.Errorf("reading %s: %w", url, err)
	}
	if counted.n != want.size {
		return nil, fmt.Errorf("%w: %s is %d bytes, Release says %d; retry later, the mirror may be syncing", ErrChecksum, url, counted.n, want.size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want.sha256 {
		return nil, fmt.Errorf("%w: %s has SHA256 %s, Release says %s; retry later, the mirror may be syncing", ErrChecksum, url, got, want.sha256)
	}
	if perr != nil {
		return nil, fmt.Errorf("parsing %s: %w", url, perr)
	}
	return idx, nil
}

type releaseFile struct {
	sha256 string
	size   int64
}

// fetchRelease downloads Release, falling back to InRelease, and returns
// its SHA256 section keyed by path.
func fetchRelease(ctx context.Context, client *http.Client, mirror, suite string) (map[string]releaseFile, error) {
	var body []byte
	var url string
	var firstErr error
	for _, name := range []string{"Release", "InRelease"} {
		url = mirror + "/dists/" + suite + "/" + name
		resp, err := get(ctx, client, url)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			if errors.Is(err, ErrNotFound) {
				continue
			}
			return nil, err
		}
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxReleaseSize+1))
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", url, err)
		}
		if len(body) > maxReleaseSize {
			return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrIndex, url, maxReleaseSize)
		}
		if name == "InRelease" {
			body = stripPGPArmor(body)
		}
		break
	}
	if body == nil {
		return nil, fmt.Errorf("fetching Release for suite %q: %w (is %q a suite on this mirror?)", suite, firstErr, suite)
	}
	return parseRelease(url, body)
}

// parseRelease extracts the SHA256 section of a Release file.
func parseRelease(url string, body []byte) (map[string]releaseFile, error) {
	out := map[string]releaseFile{}
	in := false
	for _, line := range strings.Split(string(body), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			continue
		}
		if line[0] != ' ' && line[0] != '\t' {
			in = strings.HasPrefix(line, "SHA256:")
			continue
		}
		if !in {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("%w: %s: bad SHA256 line %q", ErrIndex, url, truncate(line))
		}
		size, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || len(f[0]) != 64 {
			return nil, fmt.Errorf("%w: %s: bad SHA256 line %q", ErrIndex, url, truncate(line))
		}
		out[f[2]] = releaseFile{sha256: strings.ToLower(f[0]), size: size}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %s has no SHA256 section", ErrIndex, url)
	}
	return out, nil
}

// stripPGPArmor returns the signed body of a clearsigned message. The
// signature is not verified.
func stripPGPArmor(b []byte) []byte {
	const begin = "-----BEGIN PGP SIGNED MESSAGE-----"
	if !bytes.HasPrefix(bytes.TrimLeft(b, "\r\n"), []byte(begin)) {
		return b
	}
	lines := strings.Split(string(b), "\n")
	var out []string
	state := 0 // 0: before header, 1: armor headers, 2: body
	for _, l := range lines {
		l = strings.TrimRight(l, "\r")
		switch state {
		case 0:
			if l == begin {
				state = 1
			}
		case 1:
			if l == "" {
				state = 2
			}
		case 2:
			if strings.HasPrefix(l, "-----BEGIN PGP SIGNATURE-----") {
				return []byte(strings.Join(out, "\n") + "\n")
			}
			out = append(out, strings.TrimPrefix(l, "- "))
		}
	}
	return []byte(strings.Join(out, "\n") + "\n")
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// limitErrReader fails once more than left bytes were read.
type limitErrReader struct {
	r    io.Reader
	left int64
}

func (l *limitErrReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, fmt.Errorf("%w: decompressed index exceeds %d bytes", ErrIndex, int64(maxIndexSize))
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, fmt.Errorf("%w: decompressed index exceeds %d bytes", ErrIndex, int64(maxIndexSize))
	}
	return n, err
}
