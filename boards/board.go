// Package boards loads board definitions (boards/<name>/board.json): the
// architecture, Debian kernel package, initramfs modules, console, storage
// device and bootloader of each supported machine. Host-side only.
package boards

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"pantavisor/lib/disk"
)

// Board is one board.json.
type Board struct {
	Name          string   `json:"name"`
	Arch          string   `json:"arch"`           // GOARCH of the device binary
	DebianArch    string   `json:"debian_arch"`    // dpkg architecture of the kernel package
	KernelPackage string   `json:"kernel_package"` // Debian metapackage, resolved at fetch time
	QEMU          string   `json:"qemu"`           // qemu-system binary
	Machine       string   `json:"machine"`        // -machine
	CPU           string   `json:"cpu,omitempty"`  // -cpu, if needed
	Console       string   `json:"console"`        // console= device
	StorageDevice string   `json:"storage_device"` // where /storage lives
	Bootloader    string   `json:"bootloader"`     // grub, uboot or none
	Modules       []string `json:"modules"`        // loaded by the init, dependencies resolved by mkinitrd

	// BSPModules are the modules the BSP's modules.squashfs ships:
	// paths under lib/modules/<release>, each a module file or a
	// directory of them, with their dependencies (modules.dep) added.
	// Empty ships the whole tree.
	BSPModules []string `json:"bsp_modules,omitempty"`

	// Disk image (make image, boards/image): the storage partition's
	// filesystem label (the init mounts LABEL=<StorageLabel>), the whole
	// image's size in MiB, and kernel arguments the bootloader passes after
	// console=<Console> and pv_rev/pv_try.
	StorageLabel string `json:"storage_label,omitempty"`
	ImageMiB     int    `json:"image_mib,omitempty"`
	Cmdline      string `json:"cmdline,omitempty"`

	// BootLabel is the label of a uboot board's FAT boot partition (the
	// boot script and U-Boot's try-boot latch env, boards/image).
	BootLabel string `json:"boot_label,omitempty"`
	// Firmware is what QEMU runs instead of its own firmware when it
	// boots the board's disk image (-bios): a U-Boot u-boot.bin.
	Firmware string `json:"firmware,omitempty"`

	// Trust is the directory of the trust stores mkinitrd ships at
	// /etc/pantavisor/pvs/trust: ".crt" bundles (ca-certificates.crt,
	// ca-oem-certificates.crt) and optionally pub.pem. A relative path is
	// relative to the board's directory (boards/<name>). Empty ships none.
	Trust string `json:"trust,omitempty"`

	// Signing is the directory of the key (key.pem) and certificate chain
	// (chain.pem, leaf first) the image builder signs its revisions with,
	// relative like Trust; its CA must be in Trust's ca-certificates.crt.
	// Empty: revisions are not signed.
	Signing string `json:"signing,omitempty"`

	// KeyHardware is the NXP key hardware the board has for crypt disks
	// ("caam", "dcp"); mkinitrd ships it as /etc/pantavisor/key-hardware
	// (lib/disk.KeyHardwareFile). Empty: none, and dm-crypt-caam/-dcp
	// disks are refused.
	KeyHardware []string `json:"key_hardware,omitempty"`
}

// Dir is the boards directory of this source tree.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// Load reads dir/<name>/board.json and checks its required fields.
func Load(dir, name string) (*Board, error) {
	data, err := os.ReadFile(filepath.Join(dir, name, "board.json"))
	if err != nil {
		return nil, fmt.Errorf("board %s: %w", name, err)
	}
	var b Board
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("board %s: board.json: %w", name, err)
	}
	for field, v := range map[string]string{"name": b.Name, "arch": b.Arch, "debian_arch": b.DebianArch,
		"kernel_package": b.KernelPackage, "qemu": b.QEMU, "console": b.Console} {
		if v == "" {
			return nil, fmt.Errorf("board %s: board.json: %q is required", name, field)
		}
	}
	if b.Name != name {
		return nil, fmt.Errorf("board %s: board.json names itself %q", name, b.Name)
	}
	var hw disk.Options
	for _, k := range b.KeyHardware {
		if err := hw.SetKeyHardware(k); err != nil {
			return nil, fmt.Errorf("board %s: board.json: \"key_hardware\": %w", name, err)
		}
	}
	for field, rel := range map[string]string{"trust": b.Trust, "signing": b.Signing} {
		if d := b.resolve(dir, rel); d != "" {
			if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
				return nil, fmt.Errorf("board %s: board.json: %q %q is not a directory", name, field, rel)
			}
		}
	}
	return &b, nil
}

// TrustDir returns the board's trust directory (Trust resolved against
// boardsDir/<name>), or "" when the board ships no trust store.
func (b *Board) TrustDir(boardsDir string) string { return b.resolve(boardsDir, b.Trust) }

// SigningDir returns the board's signing directory (Signing resolved like
// Trust), or "" when its revisions are not signed.
func (b *Board) SigningDir(boardsDir string) string { return b.resolve(boardsDir, b.Signing) }

func (b *Board) resolve(boardsDir, rel string) string {
	if rel == "" || filepath.IsAbs(rel) {
		return rel
	}
	return filepath.Join(boardsDir, b.Name, rel)
}

// ModulesRelease returns the one lib/modules/<release> directory that
// boards/fetch-kernel.sh extracted into kernelDir/modules.
func ModulesRelease(kernelDir string) (string, error) {
	root := filepath.Join(kernelDir, "modules")
	ents, err := os.ReadDir(root)
	if err != nil {
		return "", fmt.Errorf("kernel modules: %w", err)
	}
	var dirs []string
	for _, e := range ents {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	if len(dirs) != 1 {
		return "", fmt.Errorf("kernel modules: want one release directory in %s, found %v", root, dirs)
	}
	return filepath.Join(root, dirs[0]), nil
}
