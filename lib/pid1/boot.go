package pid1

import (
	"errors"
	"io"
	"os"
	"path/filepath"

	"pantavisor/lib/bootloader"
	"pantavisor/lib/cmdline"
)

// ChooseRevision opens the bootloader env of kind (PV_BOOTLOADER_TYPE:
// grub keeps boot/grubenv and GRUB's latch env boot/grub/grubenv) below
// storage with o (o.UbootLatch: U-Boot's pv.env on a mounted FAT
// partition, see device.MountBootLatch) and returns it, the revision to run and whether it is a try. A
// kernel started without a bootloader (QEMU -kernel: no pv_rev on the
// command line) uses the direct env and runs the one-shot latch itself.
// Errors are reported on console: the revision returned is still the one
// to run (bootloader.Boot.Choose), pv_rev of the command line when no env
// opens (the Boot is then nil).
func ChooseRevision(console io.Writer, o bootloader.Options, kind string, cl cmdline.Cmdline,
	storage string) (*bootloader.Boot, string, bool) {
	if _, ok := cl.Get(bootloader.KeyRev); !ok {
		kind = bootloader.KindDirect
	}
	b, err := o.OpenBoot(kind, storage)
	if err != nil {
		say(console, "bootloader env (%s): %v", kind, err)
	}
	if b == nil {
		rev, _ := cl.Get(bootloader.KeyRev)
		return nil, rev, false
	}
	rev, trying, err := Choose(b, storage, cl)
	if err != nil {
		say(console, "bootloader: %v", err)
	}
	say(console, "bootloader %s: running revision %s (trying %t, committed %s)", kind, rev, trying, b.Committed())
	return b, rev, trying
}

// ChooseDirect picks the revision of an appengine as a device without a
// bootloader would boot it: the direct env below storage (boot/direct.env)
// and its one-shot try latch (see Choose). A restart of the appengine is
// the device's reboot. An explicit rev wins (never a try). When the env
// cannot be opened at all, b is nil and rev is returned as given. An error
// comes with a usable choice.
func ChooseDirect(storage, rev string) (b *bootloader.Boot, chosen string, trying bool, err error) {
	b, err = bootloader.Options{}.OpenBoot(bootloader.KindDirect, storage)
	if b == nil || rev != "" {
		return b, rev, false, err
	}
	chosen, trying, cerr := Choose(b, storage, nil)
	return b, chosen, trying, errors.Join(err, cerr)
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
