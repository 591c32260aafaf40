package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// kernelConfig is the kernel's build configuration in a fetched kernel
// directory (boards/fetch-kernel.sh copies the package's boot/config-*).
const kernelConfig = "config"

// bcjFilters maps a device binary's ELF machine to the xz BCJ filter of
// its code and the kernel option that builds its decoder (lib/xz).
var bcjFilters = map[elf.Machine]struct{ filter, option string }{
	elf.EM_X86_64:  {"x86", "CONFIG_XZ_DEC_X86"},
	elf.EM_386:     {"x86", "CONFIG_XZ_DEC_X86"},
	elf.EM_AARCH64: {"arm64", "CONFIG_XZ_DEC_ARM64"}, // Linux 6.12 and later
	elf.EM_ARM:     {"arm", "CONFIG_XZ_DEC_ARM"},     // Go's arm code is ARM, not Thumb
	elf.EM_PPC:     {"powerpc", "CONFIG_XZ_DEC_POWERPC"},
	elf.EM_RISCV:   {"riscv", "CONFIG_XZ_DEC_RISCV"},
}

// bcjFor returns the BCJ filter the initramfs is packed with: the one of
// the binary's architecture when the kernel in kernelDir decodes it
// (its config has the option =y), else "" and the reason. Without a
// kernel directory or its config nothing says the kernel has the filter.
func bcjFor(bin []byte, kernelDir string) (filter, note string, err error) {
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		return "", "xz without a BCJ filter: the binary is not an ELF file", nil
	}
	m, ok := bcjFilters[f.Machine]
	if !ok {
		return "", "xz without a BCJ filter: none for " + f.Machine.String(), nil
	}
	if kernelDir == "" {
		return "", "xz without a BCJ filter: no -kernel to say its decoder has " + m.option, nil
	}
	cfg, err := os.Open(filepath.Join(kernelDir, kernelConfig))
	if errors.Is(err, fs.ErrNotExist) {
		return "", "xz without a BCJ filter: no " + kernelConfig + " in " + kernelDir, nil
	}
	if err != nil {
		return "", "", err
	}
	defer cfg.Close()
	on, err := kconfigSet(cfg, m.option)
	if err != nil || !on {
		return "", "xz without a BCJ filter: the kernel is built without " + m.option, err
	}
	return m.filter, "xz with the " + m.filter + " BCJ filter (" + m.option + "=y)", nil
}

// kconfigSet says whether a kernel .config sets option to y.
func kconfigSet(r io.Reader, option string) (bool, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if sc.Text() == option+"=y" {
			return true, nil
		}
	}
	return false, sc.Err()
}
