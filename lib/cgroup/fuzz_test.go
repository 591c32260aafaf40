package cgroup

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzParseMountinfo(f *testing.F) {
	for _, s := range []string{hybridHost, systemdHybrid, legacy, unified, `1 0 0:1 / /a\040b rw - cgroup cgroup rw,pids`} {
		f.Add([]byte(s), "/sys/fs/cgroup")
	}
	f.Fuzz(func(t *testing.T, data []byte, root string) {
		l, err := ParseMountinfo(bytes.NewReader(data), root)
		if err != nil {
			return
		}
		if l.Mode == 0 {
			t.Fatalf("layout without mode: %+v", l)
		}
		for _, h := range l.V1 {
			if !under(h.Path, filepath.Clean(root)) {
				t.Fatalf("%s not under %s", h.Path, root)
			}
		}
	})
}

func FuzzParseProcCgroup(f *testing.F) {
	for _, s := range []string{"9:name=systemd:/\n0::/lxc/web\n", "3:name=pantavisor:/lxc/web/x\n", "0::/..\n"} {
		f.Add([]byte(s), "lxc")
	}
	f.Fuzz(func(t *testing.T, data []byte, parent string) {
		ms, err := ParseProcCgroup(bytes.NewReader(data))
		if err != nil {
			return
		}
		name := NameIn(ms, parent)
		if strings.Contains(name, "/") || name == "." || name == ".." {
			t.Fatalf("unsafe name %q", name)
		}
	})
}

func FuzzParseCgroups(f *testing.F) {
	f.Add([]byte(procCgroups))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseCgroups(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, g := range controllerMounts(s) {
			if len(g) == 0 {
				t.Fatal("empty mount group")
			}
		}
	})
}
