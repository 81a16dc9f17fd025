package kmod

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/ulikunitz/xz"
)

func TestName(t *testing.T) {
	for in, want := range map[string]string{
		"kernel/net/sched/cls_bpf.ko.xz": "cls_bpf",
		"kernel/drivers/net/veth.ko":     "veth",
		"sch-ingress":                    "sch_ingress",
		"x.ko.zst":                       "x",
	} {
		assert.Equal(t, want, Name(in), "Name(%q)", in)
	}
}

func TestClosure(t *testing.T) {
	md := &Tree{
		files:   map[string]string{"a": "a.ko", "b": "b.ko.xz", "c": "c.ko", "d": "d.ko"},
		deps:    map[string][]string{"a": {"b", "c"}, "b": {"c", "builtin_x"}, "c": nil, "d": {"missing"}},
		builtin: map[string]bool{"builtin_x": true, "veth": true},
	}
	order, builtin, err := md.Closure([]string{"a", "veth"})
	require.NoError(t, err)
	assert.Equal(t, []string{"c", "b", "a"}, order, "dependencies load first, once")
	assert.ElementsMatch(t, []string{"builtin_x", "veth"}, builtin)

	_, _, err = md.Closure([]string{"nosuch"})
	require.ErrorIs(t, err, ErrUnknownModule)
	assert.ErrorContains(t, err, `"nosuch"`)
	_, _, err = md.Closure([]string{"d"})
	require.ErrorIs(t, err, ErrUnknownModule)
	assert.ErrorContains(t, err, "needed by d")
}

func TestModinfo(t *testing.T) {
	_, err := modinfo([]byte("not an elf"))
	require.ErrorContains(t, err, "not an ELF module")
}

// elfModule is the smallest ELF file with a .modinfo section holding kv.
func elfModule(kv ...string) []byte {
	modinfo := []byte(strings.Join(kv, "\x00") + "\x00")
	shstr := []byte("\x00.modinfo\x00.shstrtab\x00")
	const ehsize, shentsize = 64, 64
	data := append(append([]byte(nil), modinfo...), shstr...)
	shoff := ehsize + len(data)
	var b bytes.Buffer
	h := struct {
		Ident                                                [16]byte
		Type, Machine                                        uint16
		Version                                              uint32
		Entry, Phoff, Shoff                                  uint64
		Flags                                                uint32
		Ehsize, Phentsize, Phnum, Shentsize, Shnum, Shstrndx uint16
	}{Type: 1, Machine: 62, Version: 1, Shoff: uint64(shoff), Ehsize: ehsize, Shentsize: shentsize, Shnum: 3, Shstrndx: 2}
	copy(h.Ident[:], "\x7fELF\x02\x01\x01")
	binary.Write(&b, binary.LittleEndian, h)
	b.Write(data)
	type shdr struct {
		Name, Type             uint32
		Flags, Addr, Off, Size uint64
		Link, Info             uint32
		Addralign, Entsize     uint64
	}
	binary.Write(&b, binary.LittleEndian, shdr{})
	binary.Write(&b, binary.LittleEndian, shdr{Name: 1, Type: 1, Off: ehsize, Size: uint64(len(modinfo)), Addralign: 1})
	binary.Write(&b, binary.LittleEndian, shdr{Name: 10, Type: 3, Off: uint64(ehsize + len(modinfo)), Size: uint64(len(shstr)), Addralign: 1})
	return b.Bytes()
}

func TestWriteIndex(t *testing.T) {
	dir := t.TempDir()
	write := func(rel string, data []byte) {
		t.Helper()
		p := filepath.Join(dir, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, data, 0o644))
	}
	var xzBuf bytes.Buffer
	w, err := xz.NewWriter(&xzBuf)
	require.NoError(t, err)
	w.Write(elfModule("name=dummy", "alias=rtnl-link-dummy", "depends="))
	require.NoError(t, w.Close())
	write("kernel/drivers/net/dummy.ko.xz", xzBuf.Bytes())
	write("kernel/net/sched/cls_bpf.ko", elfModule("alias=net-cls-bpf", "depends=sch_api,x_core"))
	write("kernel/net/sched/sch_api.ko", elfModule("depends=x_core"))
	write("kernel/lib/x_core.ko", elfModule("depends="))
	write("modules.builtin", []byte("kernel/fs/ext4/ext4.ko\n"))

	tree, err := ReadTree(dir)
	require.NoError(t, err)
	require.NoError(t, tree.WriteIndex(dir))
	dep, err := os.ReadFile(filepath.Join(dir, "modules.dep"))
	require.NoError(t, err)
	assert.Equal(t, `kernel/net/sched/cls_bpf.ko: kernel/net/sched/sch_api.ko kernel/lib/x_core.ko
kernel/drivers/net/dummy.ko.xz:
kernel/net/sched/sch_api.ko: kernel/lib/x_core.ko
kernel/lib/x_core.ko:
`, string(dep), "modules.dep: one line per module, nearest dependency first")
	alias, err := os.ReadFile(filepath.Join(dir, "modules.alias"))
	require.NoError(t, err)
	aliases := ParseAliases(alias)
	assert.Equal(t, []Alias{{"net-cls-bpf", "cls_bpf"}, {"rtnl-link-dummy", "dummy"}}, aliases)
	assert.Equal(t, []string{"dummy"}, Resolve(aliases, "rtnl-link-dummy"))
	assert.Empty(t, Resolve(aliases, "rtnl-link-veth"))
	assert.Equal(t, []string{"a"}, Resolve([]Alias{{"pci:v00001AF4d*", "a"}, {"pci:v00001AF4d*sv*", "a"}}, "pci:v00001AF4d00001001sv00001AF4"))

	write("kernel/bad.ko", []byte("not elf"))
	tree, err = ReadTree(dir)
	require.NoError(t, err)
	assert.ErrorContains(t, tree.WriteIndex(t.TempDir()), "module bad")
}
