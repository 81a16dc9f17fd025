// Package debtest builds Debian packages in memory for tests.
package debtest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// File is one data.tar entry. Type defaults to a regular file (or a
// directory when Name ends in "/").
type File struct {
	Name     string
	Body     []byte
	Mode     int64
	Type     byte
	Linkname string
	// Size overrides the header size when non-zero (for lying headers).
	Size int64
}

// Member is one ar archive member.
type Member struct {
	Name string
	Data []byte
}

// AR returns an ar archive with the given members.
func AR(members ...Member) []byte {
	var b bytes.Buffer
	b.WriteString("!<arch>\n")
	for _, m := range members {
		fmt.Fprintf(&b, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", m.Name, 0, 0, 0, "100644", len(m.Data))
		b.Write(m.Data)
		if len(m.Data)%2 == 1 {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// Tar returns a tar archive holding files.
func Tar(files []File) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, f := range files {
		hdr := &tar.Header{Name: f.Name, Mode: f.Mode, Typeflag: f.Type, Linkname: f.Linkname, Format: tar.FormatGNU}
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
			if len(f.Name) > 0 && f.Name[len(f.Name)-1] == '/' {
				hdr.Typeflag = tar.TypeDir
			}
		}
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
			if hdr.Typeflag == tar.TypeDir {
				hdr.Mode = 0o755
			}
		}
		if hdr.Typeflag == tar.TypeReg {
			hdr.Size = int64(len(f.Body))
		}
		if f.Size != 0 {
			hdr.Size = f.Size
		}
		must(tw.WriteHeader(hdr))
		if hdr.Typeflag == tar.TypeReg && f.Size == 0 {
			_, err := tw.Write(f.Body)
			must(err)
		}
	}
	if err := tw.Close(); err != nil && !bytes.Contains([]byte(err.Error()), []byte("missed writing")) {
		panic(err)
	}
	return b.Bytes()
}

// Compress compresses data with comp: "" (none), "xz", "zst" or "gz".
func Compress(comp string, data []byte) []byte {
	var b bytes.Buffer
	switch comp {
	case "":
		return data
	case "xz":
		w, err := xz.NewWriter(&b)
		must(err)
		_, err = w.Write(data)
		must(err)
		must(w.Close())
	case "zst":
		w, err := zstd.NewWriter(&b)
		must(err)
		_, err = w.Write(data)
		must(err)
		must(w.Close())
	case "gz":
		w := gzip.NewWriter(&b)
		_, err := w.Write(data)
		must(err)
		must(w.Close())
	default:
		panic("unknown compression " + comp)
	}
	return b.Bytes()
}

// Deb returns a .deb holding files in data.tar compressed with comp.
func Deb(comp string, files []File) []byte {
	name := "data.tar"
	if comp != "" {
		name += "." + comp
	}
	control := Compress("xz", Tar([]File{{Name: "./control", Body: []byte("Package: test\n")}}))
	return AR(
		Member{Name: "debian-binary", Data: []byte("2.0\n")},
		Member{Name: "control.tar.xz", Data: control},
		Member{Name: name, Data: Compress(comp, Tar(files))},
	)
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
