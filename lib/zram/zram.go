// Package zram makes compressed RAM block devices through sysfs
// (/sys/class/zram-control and /sys/block/zramN), for swap and scratch
// volume disks.
package zram

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
)

// Control adds, configures and removes zram devices. The zero value uses
// the real /sys and /dev.
type Control struct {
	Sys string // "/sys" by default
	Dev string // "/dev" by default
	// NoReuse always hot-adds a new device; by default (upstream's
	// behaviour) the first existing device not yet initialised is taken.
	NoReuse bool
}

func (c Control) sys() string {
	if c.Sys == "" {
		return "/sys"
	}
	return c.Sys
}

func (c Control) dev() string {
	if c.Dev == "" {
		return "/dev"
	}
	return c.Dev
}

// ErrNoZram is returned when the kernel has no zram (CONFIG_ZRAM off or
// the module not loaded: no /sys/class/zram-control).
var ErrNoZram error = &sentinel.Error{Text: "zram: no zram support (/sys/class/zram-control missing: is the zram module loaded?)"}

// maxScan bounds the search for an uninitialised device, as upstream's.
const maxScan = 100

// Device is one zram device.
type Device struct {
	N     int
	Added bool // hot-added by Get: Remove it when done
}

// Path is the device node, e.g. /dev/zram1.
func (c Control) Path(d Device) string { return filepath.Join(c.dev(), "zram"+strconv.Itoa(d.N)) }

func (c Control) attr(n int, name string) string {
	return filepath.Join(c.sys(), "block", "zram"+strconv.Itoa(n), name)
}

// Get returns a device to configure: unless NoReuse, the first existing
// zramN (N < 100) whose initstate is 0, else a new one from hot_add.
func (c Control) Get() (Device, error) {
	if !c.NoReuse {
		for n := range maxScan {
			b, err := os.ReadFile(c.attr(n, "initstate"))
			if errors.Is(err, os.ErrNotExist) {
				break
			}
			if err == nil && strings.TrimSpace(string(b)) == "0" {
				return Device{N: n}, nil
			}
		}
	}
	n, err := c.hotAdd()
	return Device{N: n, Added: true}, err
}

func (c Control) hotAdd() (int, error) {
	p := filepath.Join(c.sys(), "class", "zram-control", "hot_add")
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return -1, printf.Errorf("%w: %w", ErrNoZram, err)
	}
	if err != nil {
		return -1, printf.Errorf("zram: hot_add: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n < 0 {
		return -1, printf.Errorf("zram: hot_add returned %q", b)
	}
	return n, nil
}

// Option is one "key=value" of provision_options: the value written to
// /sys/block/zramN/<key>.
type Option struct{ Key, Value string }

// ParseOptions splits upstream's space-separated "key=value" list, e.g.
// "disksize=128M comp_algorithm=lz4". A key must be a plain sysfs
// attribute name.
func ParseOptions(s string) ([]Option, error) {
	var ops []Option
	for _, f := range strings.Fields(s) {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" || v == "" {
			return nil, printf.Errorf("zram: option %q is not key=value", f)
		}
		if strings.ContainsAny(k, "/\\") || k == "." || k == ".." {
			return nil, printf.Errorf("zram: option key %q is not an attribute name", k)
		}
		ops = append(ops, Option{k, v})
	}
	return ops, nil
}

// Configure writes ops to device d: every attribute but disksize first, in
// their order, then disksize (the kernel refuses comp_algorithm and
// max_comp_streams changes once disksize has initialised the device, so
// upstream's documented "disksize=128M comp_algorithm=lz4" would lose the
// algorithm in the written order). A missing or failed disksize is an
// error; another attribute that fails (an algorithm this kernel lacks, an
// attribute it dropped) is returned in warnings, as upstream warns and
// goes on.
func (c Control) Configure(d Device, ops []Option) (warnings []error, err error) {
	var size *Option
	for i, o := range ops {
		if o.Key == "disksize" {
			size = &ops[i]
			continue
		}
		if err := c.write(d.N, o.Key, o.Value); err != nil {
			warnings = append(warnings, err)
		}
	}
	if size == nil {
		return warnings, printf.Errorf("zram%d: no disksize in the options", d.N)
	}
	return warnings, c.write(d.N, "disksize", size.Value)
}

func (c Control) write(n int, key, value string) error {
	if err := os.WriteFile(c.attr(n, key), []byte(value), 0); err != nil {
		return printf.Errorf("zram%d: setting %s=%s: %w", n, key, value, err)
	}
	return nil
}

// Size returns the configured disksize of d in bytes.
func (c Control) Size(d Device) (int64, error) {
	b, err := os.ReadFile(c.attr(d.N, "disksize"))
	if err != nil {
		return 0, printf.Errorf("zram%d: %w", d.N, err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, printf.Errorf("zram%d: disksize %q: %w", d.N, b, err)
	}
	return n, nil
}

// Release resets d (frees its memory) and, when Get hot-added it, removes
// it again, so nothing leaks.
func (c Control) Release(d Device) error {
	if err := c.write(d.N, "reset", "1"); err != nil {
		return err
	}
	if !d.Added {
		return nil
	}
	p := filepath.Join(c.sys(), "class", "zram-control", "hot_remove")
	if err := os.WriteFile(p, []byte(strconv.Itoa(d.N)), 0); err != nil {
		return printf.Errorf("zram%d: hot_remove: %w", d.N, err)
	}
	return nil
}
