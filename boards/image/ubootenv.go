package image

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"sort"
	"strings"
)

// U-Boot's own env file (CONFIG_ENV_IS_IN_FAT, as on the Raspberry Pi):
// once U-Boot finds a valid one it replaces the whole compiled-in default
// env, so the image builder starts from that default env, read out of the
// U-Boot binary, and changes only the board's variables (boot delay,
// preboot). Pantavisor's own variables are never in it: they live in
// boot/uboot.txt on the storage and the latch pv.env (uboot.go).

// ubootDefaultEnv returns the default env compiled into a U-Boot binary as
// "name=value" entries: the NUL-separated block that starts with
// "bootcmd=" (the first entry U-Boot's env_default.h emits when no
// bootargs are configured) and ends at an empty entry. It fails unless
// the block has the variables distro boot needs.
func ubootDefaultEnv(bin []byte) ([]string, error) {
	for off := 0; ; {
		i := bytes.Index(bin[off:], []byte("\x00bootcmd="))
		if i < 0 {
			return nil, fmt.Errorf("U-Boot binary: no default env (no \"bootcmd=\" entry block)")
		}
		start := off + i + 1
		off = start
		end := bytes.Index(bin[start:], []byte("\x00\x00"))
		if end < 0 {
			continue
		}
		vars := strings.Split(string(bin[start:start+end]), "\x00")
		if envComplete(vars) {
			return vars, nil
		}
	}
}

// envComplete: every entry is a printable name=value and distro boot's
// variables are there.
func envComplete(vars []string) bool {
	need := map[string]bool{"bootcmd": true, "boot_targets": true, "kernel_addr_r": true, "ramdisk_addr_r": true}
	for _, v := range vars {
		name, _, ok := strings.Cut(v, "=")
		if !ok || name == "" {
			return false
		}
		for _, c := range []byte(v) {
			if c < 0x20 && c != '\t' && c != '\n' || c > 0x7e {
				return false
			}
		}
		delete(need, name)
	}
	return len(need) == 0
}

// setEnv returns vars with set applied: a value replaces the variable's
// (in place) or is appended, "" removes it. New variables come in name
// order, so the file is the same bytes for the same input.
func setEnv(vars []string, set map[string]string) []string {
	out := make([]string, 0, len(vars)+len(set))
	done := map[string]bool{}
	for _, v := range vars {
		name, _, _ := strings.Cut(v, "=")
		val, ok := set[name]
		switch {
		case !ok:
			out = append(out, v)
		case val != "":
			out = append(out, name+"="+val)
		}
		done[name] = true
	}
	var extra []string
	for name, val := range set {
		if !done[name] && val != "" {
			extra = append(extra, name+"="+val)
		}
	}
	sort.Strings(extra)
	return append(out, extra...)
}

// ubootEnvImage is U-Boot's env file format (non-redundant): a little-
// endian CRC32 of the data area, then the entries each NUL-terminated, a
// final NUL, zero padding to size bytes in all.
func ubootEnvImage(vars []string, size int) ([]byte, error) {
	img := make([]byte, size)
	n := 4
	for _, v := range vars {
		if n+len(v)+2 > size {
			return nil, fmt.Errorf("U-Boot env: %d entries do not fit in %d bytes", len(vars), size)
		}
		n += copy(img[n:], v) + 1
	}
	binary.LittleEndian.PutUint32(img, crc32.ChecksumIEEE(img[4:]))
	return img, nil
}
