package pid1

import (
	"os"
	"path/filepath"

	"pantavisor/lib/bootloader"
	"pantavisor/lib/cmdline"
	"pantavisor/lib/config"
)

// ChooseRevision opens the bootloader env (PV_BOOTLOADER_TYPE: grub keeps
// boot/grubenv and GRUB's latch env boot/grub/grubenv) and returns the
// revision to run and whether it is a try. A kernel started without a
// bootloader (QEMU -kernel: no pv_rev on the command line) uses the
// direct env and runs the one-shot latch itself. On an error the
// revision is still the one to run (bootloader.Boot.Choose).
func ChooseRevision(cfg *config.Config, cl cmdline.Cmdline, storage string, logf func(string, ...any)) (*bootloader.Boot, string, bool) {
	kind := cfg.String("PV_BOOTLOADER_TYPE")
	if _, ok := cl.Get(bootloader.KeyRev); !ok {
		kind = bootloader.KindDirect
	}
	b, err := bootloader.Options{}.OpenBoot(kind, storage)
	if err != nil {
		logf("bootloader env (%s): %v", kind, err)
	}
	if b == nil {
		rev, _ := cl.Get(bootloader.KeyRev)
		return nil, rev, false
	}
	rev, trying, err := Choose(b, storage, cl)
	if err != nil {
		logf("bootloader: %v", err)
	}
	logf("bootloader %s: running revision %s (trying %t, committed %s)", kind, rev, trying, b.Committed())
	return b, rev, trying
}

// Choose is b.Choose, except that a direct env that was never written
// chooses "": the device runs trails/current, else 0, as before any
// update.
func Choose(b *bootloader.Boot, storage string, cl cmdline.Cmdline) (string, bool, error) {
	if b.Direct {
		env, _, _ := bootloader.Layout(bootloader.KindDirect)
		if _, err := os.Stat(filepath.Join(storage, env)); os.IsNotExist(err) {
			return "", false, nil
		}
	}
	return b.Choose(cl)
}
