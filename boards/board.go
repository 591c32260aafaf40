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

	// BootPackages are Debian packages of the board's architecture that
	// boards/fetch-kernel.sh extracts into <kernel dir>/boot (space
	// separated: the shell reads it): the firmware and U-Boot of a board
	// whose boot partition carries them (rpi64).
	BootPackages string `json:"boot_packages,omitempty"`
	// BootFiles are more files of the FAT boot partition: name on the
	// FAT -> a path relative to the board's kernel dir (its boot
	// packages in boot/, the kernel package's device trees in dtbs/).
	BootFiles map[string]string `json:"boot_files,omitempty"`
	// BootDir is a directory (relative like Trust) whose files all go
	// to the FAT boot partition's root as well (rpi64's config.txt).
	BootDir string `json:"boot_dir,omitempty"`
	// UbootEnv, when set, is U-Boot's own env file on the FAT boot
	// partition, written by the image builder: the default env of the
	// U-Boot binary among BootFiles with Set applied (an env file there
	// replaces the default env as a whole).
	UbootEnv *UbootEnvFile `json:"uboot_env,omitempty"`

	// QEMU is told how to run the board beyond machine and cpu: a
	// firmware file started with -kernel (relative to the kernel dir, as
	// the Pi's GPU firmware starts U-Boot) and the device tree QEMU hands
	// it, the interface of the disk ("virtio", the default, or "sd"),
	// the memory in MiB (0: 512), the CPU count (0: 2; the raspi machines
	// have 4 and accept no other) and how many serial ports are wired to
	// the console (0: 1; the Pi's U-Boot and Linux use the second, its
	// mini UART).
	QEMUKernel  string `json:"qemu_kernel,omitempty"`
	QEMUDTB     string `json:"qemu_dtb,omitempty"`
	QEMUDrive   string `json:"qemu_drive,omitempty"`
	QEMUMemory  int    `json:"qemu_memory,omitempty"`
	QEMUCPUs    int    `json:"qemu_cpus,omitempty"`
	QEMUSerials int    `json:"qemu_serials,omitempty"`
	// QEMUPowerOffHalts: the machine cannot power off (the raspi
	// machines have no PSCI: Linux halts the CPUs), so the harness ends
	// QEMU when the kernel says "reboot: Power down".
	QEMUPowerOffHalts bool `json:"qemu_poweroff_halts,omitempty"`
	// QEMUNIC is the network device host forwards go through: ""
	// (virtio-net-pci) or "none" (QEMU's raspi3b has no PCI and no
	// network device the Debian kernel drives without USB modules).
	QEMUNIC string `json:"qemu_nic,omitempty"`

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

// UbootEnvFile is a U-Boot env file (CONFIG_ENV_IS_IN_FAT): its name on
// the FAT, its size (CONFIG_ENV_SIZE), the boot file holding the U-Boot
// binary whose default env it starts from, and the variables changed
// ("" unsets one).
type UbootEnvFile struct {
	File   string            `json:"file"`
	Size   int               `json:"size"`
	Binary string            `json:"binary"`
	Set    map[string]string `json:"set"`
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
	if e := b.UbootEnv; e != nil {
		if _, ok := b.BootFiles[e.Binary]; !ok || e.File == "" || e.Size < 1024 {
			return nil, fmt.Errorf("board %s: board.json: \"uboot_env\" needs a file, a size of 1024 or more and a binary among boot_files", name)
		}
	}
	for field, rel := range map[string]string{"trust": b.Trust, "signing": b.Signing, "boot_dir": b.BootDir} {
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

// BootFilesDir returns the board's boot_dir resolved like Trust, or "".
func (b *Board) BootFilesDir(boardsDir string) string { return b.resolve(boardsDir, b.BootDir) }

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
