package qemu

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"pantavisor/boards"
	"pantavisor/buildflags"
	"pantavisor/lib/kmod"
	"pantavisor/mkinitrd/cpio"
)

// RepoRoot is the root of this source tree.
func RepoRoot() string { return filepath.Dir(boards.Dir()) }

// BuildInitrd builds the device binary for the board's arch (version
// stamped as version) and the board's initramfs into dir, as `make initrd`
// does, and returns the initramfs path. For a foreign-arch board the
// applet names come from a host build of the same dispatch table.
func BuildInitrd(dir string, b *boards.Board, kernelDir, version string) (string, error) {
	var applets []string
	if b.Arch != runtime.GOARCH {
		list := exec.Command("go", "run", "./dispatch", "--list")
		list.Dir = RepoRoot()
		out, err := list.Output()
		if err != nil {
			return "", fmt.Errorf("go run ./dispatch --list: %w", err)
		}
		names := filepath.Join(dir, "applets.txt")
		if err := os.WriteFile(names, out, 0o644); err != nil {
			return "", err
		}
		applets = []string{"-applets", names}
	}
	bin := filepath.Join(dir, "pantavisor")
	build := buildflags.Build{Dir: RepoRoot(), Arch: b.Arch, Out: bin,
		LDFlags: "-s -w -X pantavisor/lib/buildinfo.Version=" + version}
	if err := build.Run(); err != nil {
		return "", err
	}
	initrd := filepath.Join(dir, "initrd.img")
	mk := exec.Command("go", append([]string{"run", "./mkinitrd", "-binary", bin, "-board", b.Name,
		"-kernel", kernelDir, "-o", initrd}, applets...)...)
	mk.Dir = RepoRoot()
	if out, err := mk.CombinedOutput(); err != nil {
		return "", fmt.Errorf("mkinitrd: %v\n%s", err, out)
	}
	return initrd, nil
}

// ModuleList returns the load list (etc/pantavisor/modules.load) inside an
// xz-compressed initramfs, one module path per entry.
func ModuleList(initrd string) ([]string, error) {
	packed, err := os.ReadFile(initrd)
	if err != nil {
		return nil, err
	}
	es, err := cpio.Unpack(packed, 64<<20) // with xz(1): Go's xz package reads no BCJ filter
	if err != nil {
		return nil, fmt.Errorf("%s: %w", initrd, err)
	}
	for _, e := range es {
		if e.Name == "etc/pantavisor/modules.load" {
			return kmod.ParseList(bytes.NewReader(e.Data))
		}
	}
	return nil, fmt.Errorf("%s: no etc/pantavisor/modules.load", initrd)
}
