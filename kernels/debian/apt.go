package debian

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ErrNoMirror is returned by MirrorFromAPT when no usable Debian mirror is
// configured.
var ErrNoMirror = errors.New("no Debian mirror found in apt configuration")

// aptSource is one repository definition from apt's configuration.
type aptSource struct {
	types      []string
	uris       []string
	suites     []string
	components []string
	enabled    bool
}

// MirrorFromAPT returns the base URL (without trailing slash) of a Debian
// mirror configured for apt below root: deb822 files
// <root>/etc/apt/sources.list.d/*.sources first, then the one-line formats
// <root>/etc/apt/sources.list and <root>/etc/apt/sources.list.d/*.list.
//
// It picks the first enabled "deb" source with an http(s) URI that does not
// mention "security", that has the component "main" and a suite without a
// -security, -updates or -backports suffix. If there is none it returns an
// error wrapping ErrNoMirror that says how to configure a mirror.
func MirrorFromAPT(root string) (string, error) {
	aptDir := filepath.Join(root, "etc", "apt")
	sources := aptSources(root)
	for _, s := range sources {
		if uri, ok := s.mirror(); ok {
			return uri, nil
		}
	}
	return "", fmt.Errorf("%w: no enabled 'deb' source with component main and a release suite in %s/sources.list or %s/sources.list.d; set BPFMATRIX_DEBIAN_MIRROR=<URL of a Debian mirror> or pass --mirror",
		ErrNoMirror, aptDir, aptDir)
}

// SecurityMirrorFromAPT returns the base URL of the Debian security
// archive configured for apt below root (the first enabled "deb" source
// with component main and a -security suite: the security archive's base
// URL), or an error wrapping ErrNoMirror.
func SecurityMirrorFromAPT(root string) (string, error) {
	for _, s := range aptSources(root) {
		if !s.enabled || !contains(s.types, "deb") || !contains(s.components, "main") {
			continue
		}
		for _, suite := range s.suites {
			if !strings.HasSuffix(suite, "-security") {
				continue
			}
			for _, uri := range s.uris {
				if strings.HasPrefix(uri, "http://") || strings.HasPrefix(uri, "https://") {
					return strings.TrimRight(uri, "/"), nil
				}
			}
		}
	}
	return "", fmt.Errorf("%w: no enabled 'deb' source with a -security suite in %s; set BPFMATRIX_DEBIAN_SECURITY_MIRROR", ErrNoMirror, filepath.Join(root, "etc", "apt"))
}

// aptSources reads every repository definition of apt's configuration
// below root: deb822 files first, then the one-line formats.
func aptSources(root string) []aptSource {
	aptDir := filepath.Join(root, "etc", "apt")
	var sources []aptSource

	deb822, _ := filepath.Glob(filepath.Join(aptDir, "sources.list.d", "*.sources"))
	sort.Strings(deb822)
	for _, p := range deb822 {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		sources = append(sources, parseDeb822Sources(string(b))...)
	}
	oneLine := []string{filepath.Join(aptDir, "sources.list")}
	lists, _ := filepath.Glob(filepath.Join(aptDir, "sources.list.d", "*.list"))
	sort.Strings(lists)
	oneLine = append(oneLine, lists...)
	for _, p := range oneLine {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		sources = append(sources, parseOneLineSources(string(b))...)
	}

	return sources
}

func (s aptSource) mirror() (string, bool) {
	if !s.enabled || !contains(s.types, "deb") || !contains(s.components, "main") {
		return "", false
	}
	releaseSuite := false
	for _, suite := range s.suites {
		if !strings.HasSuffix(suite, "-security") && !strings.HasSuffix(suite, "-updates") &&
			!strings.HasSuffix(suite, "-backports") && !strings.HasSuffix(suite, "/") {
			releaseSuite = true
		}
	}
	if !releaseSuite {
		return "", false
	}
	for _, uri := range s.uris {
		if strings.Contains(uri, "security") {
			continue
		}
		if !strings.HasPrefix(uri, "http://") && !strings.HasPrefix(uri, "https://") {
			continue
		}
		return strings.TrimRight(uri, "/"), true
	}
	return "", false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// parseDeb822Sources parses the deb822 format of *.sources files.
func parseDeb822Sources(text string) []aptSource {
	var out []aptSource
	for _, st := range parseStanzas(text) {
		s := aptSource{
			types:      strings.Fields(st["types"]),
			uris:       strings.Fields(st["uris"]),
			suites:     strings.Fields(st["suites"]),
			components: strings.Fields(st["components"]),
			enabled:    true,
		}
		if v, ok := st["enabled"]; ok {
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "no", "false", "0":
				s.enabled = false
			}
		}
		out = append(out, s)
	}
	return out
}

// parseStanzas splits RFC 822 style text into stanzas mapping lower-cased
// field names to values; continuation lines are joined with newlines and
// '#' comment lines are ignored.
func parseStanzas(text string) []map[string]string {
	var out []map[string]string
	cur := map[string]string{}
	last := ""
	flush := func() {
		if len(cur) > 0 {
			out = append(out, cur)
		}
		cur = map[string]string{}
		last = ""
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if last != "" {
				cur[last] += "\n" + strings.TrimSpace(line)
			}
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		last = strings.ToLower(strings.TrimSpace(k))
		cur[last] = strings.TrimSpace(v)
	}
	flush()
	return out
}

// parseOneLineSources parses the one-line "deb [opts] uri suite comps..."
// format.
func parseOneLineSources(text string) []aptSource {
	var out []aptSource
	for _, line := range strings.Split(text, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		typ, rest, ok := strings.Cut(line, " ")
		if !ok || (typ != "deb" && typ != "deb-src") {
			continue
		}
		rest = strings.TrimSpace(rest)
		enabled := true
		if strings.HasPrefix(rest, "[") {
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				continue
			}
			for _, opt := range strings.Fields(rest[1:end]) {
				if k, v, _ := strings.Cut(opt, "="); k == "enabled" && (v == "no" || v == "false") {
					enabled = false
				}
			}
			rest = rest[end+1:]
		}
		f := strings.Fields(rest)
		if len(f) < 2 {
			continue
		}
		out = append(out, aptSource{
			types:      []string{typ},
			uris:       f[:1],
			suites:     f[1:2],
			components: f[2:],
			enabled:    enabled,
		})
	}
	return out
}
