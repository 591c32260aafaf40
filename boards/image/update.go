package image

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Change turns a copy of the factory revision's Options into an update's:
// it may replace Containers (already a private copy), Device, Drivers, or
// the BSP files (Kernel, Initrd, ModulesDir).
type Change func(*Options)

// BuildUpdatePackage writes out, a pvr package tarball (.tgz, what
// `pv-ctl steps install` uploads) holding a full new state derived from
// base, the factory revision's Options, by change. What change leaves
// alone is byte-identical to revision 0's objects, so the device uploads
// only what changed. Steps:
//  1. warm base's modules.squashfs cache in base.Work (as BuildPackage);
//  2. copy base (containers and device.json deep) and apply change;
//  3. in a private work directory under base.Work (so revision 0's
//     squashfs files, which its package hard-links, stay untouched),
//     hard-link the modules cache when the modules are unchanged;
//  4. BuildPackage there, then WritePackageTgz to out; the work directory
//     is removed.
func BuildUpdatePackage(ctx context.Context, base Options, change Change, out string) error {
	if err := base.check(); err != nil {
		return err
	}
	mods, err := modulesSquashfs(ctx, base.Work, base.ModulesDir, base.Board.BSPModules)
	if err != nil {
		return err
	}
	o, err := derive(base)
	if err != nil {
		return err
	}
	if change != nil {
		change(&o)
	}
	if err := os.MkdirAll(base.Work, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp(base.Work, "update-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	o.Work = work
	if o.ModulesDir == base.ModulesDir {
		for _, f := range []string{mods, mods + ".key"} {
			if err := os.Link(f, filepath.Join(work, filepath.Base(f))); err != nil {
				return fmt.Errorf("update package: modules cache: %w", err)
			}
		}
	}
	pkg := filepath.Join(work, "pkg")
	o.logf("update package %s", out)
	if err := BuildPackage(ctx, o, pkg); err != nil {
		return fmt.Errorf("update package %s: %w", out, err)
	}
	return WritePackageTgz(pkg, out)
}

// derive copies base with its own Containers (nil becomes Containers()),
// Device (nil becomes DeviceJSON()) and Drivers, so a Change never alters
// base.
func derive(base Options) (Options, error) {
	o := base
	cs := base.Containers
	if cs == nil {
		cs = Containers()
	}
	o.Containers = make([]Container, len(cs))
	for i, c := range cs {
		c.Roles = append([]string(nil), c.Roles...)
		c.Files = append([]File(nil), c.Files...)
		c.Mounts = append([]string(nil), c.Mounts...)
		c.Storage = cloneMap(c.Storage)
		run, err := cloneJSON(c.Run)
		if err != nil {
			return Options{}, fmt.Errorf("container %s run.json: %w", c.Name, err)
		}
		c.Run = run
		o.Containers[i] = c
	}
	dev := base.Device
	if dev == nil {
		dev = DeviceJSON()
	}
	dev, err := cloneJSON(dev)
	if err != nil {
		return Options{}, fmt.Errorf("device.json: %w", err)
	}
	o.Device = dev
	if o.Drivers, err = cloneJSON(base.Drivers); err != nil {
		return Options{}, fmt.Errorf("bsp/drivers.json: %w", err)
	}
	return o, nil
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// cloneJSON deep-copies a JSON object (numbers come back as float64,
// which encode the same).
func cloneJSON(m map[string]any) (map[string]any, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	return out, json.Unmarshal(b, &out)
}

// container returns the container called name in o, or nil.
func (o *Options) container(name string) *Container {
	for i := range o.Containers {
		if o.Containers[i].Name == name {
			return &o.Containers[i]
		}
	}
	return nil
}

// group returns device.json's group called name in o, or nil.
func (o *Options) group(name string) map[string]any {
	groups, _ := o.Device["groups"].([]any)
	for _, g := range groups {
		if m, ok := g.(map[string]any); ok && m["name"] == name {
			return m
		}
	}
	return nil
}

// prependInit inserts script lines right after the shebang of c's init.
func (c *Container) prependInit(lines string) {
	first, rest, _ := strings.Cut(c.Init, "\n")
	c.Init = first + "\n" + lines + rest
}

// ConsoleLogs is a kernel argument (Options.Append) that copies the
// containers' output to the serial console as well as the log files, so
// a QEMU test can wait for what a container prints (VersionLine,
// PackagesLine…).
const ConsoleLogs = "pv_log_server_outputs=filetree,stdout.containers"

// VersionLine is what a container changed by VersionChange prints first
// on its console.
func VersionLine(container, version string) string {
	return container + ": version " + version
}

// VersionChange makes container print VersionLine first and ship
// /app/version, so its squashfs (and nothing else) changes. Whether the
// device reboots follows from the container's restart_policy (its
// group's, for the factory containers): web (app) is "container", os and
// mgmt are "system". A missing container is a no-op.
func VersionChange(container, version string) Change {
	return func(o *Options) {
		c := o.container(container)
		if c == nil {
			return
		}
		c.prependInit("echo '" + VersionLine(container, version) + "'\n")
		c.Files = append(c.Files, File{"app/version", 0o644, version + "\n"})
	}
}

// AppOnlyChange: the web container (group app) prints a new version and
// says restart_policy container explicitly, so the update is applied
// without a reboot (UPDATED): only web is restarted, os keeps its pid.
func AppOnlyChange(version string) Change {
	return func(o *Options) {
		VersionChange("web", version)(o)
		if c := o.container("web"); c != nil {
			c.setRun("restart_policy", "container")
		}
	}
}

// SystemChange: the os container (group root, restart_policy system)
// prints a new version, so the update reboots into a try-boot (TESTING,
// then DONE).
func SystemChange(version string) Change { return VersionChange("os", version) }

// BSPChange replaces the BSP's initramfs (bsp/pantavisor) with initrd:
// the update reboots into a try-boot, and GRUB boots the new one.
func BSPChange(initrd string) Change {
	return func(o *Options) { o.Initrd = initrd }
}

// ExitingAppLine is what the web container of ExitingApp prints before it
// exits.
const ExitingAppLine = "web: exiting at start"

// ExitingApp: the web container exits with code 1 right after its start,
// with auto_recovery policy "no" (the group's on-failure is not
// inherited): the update fails (ERROR) and the device reboots into the
// previous revision.
func ExitingApp() Change {
	return func(o *Options) {
		c := o.container("web")
		if c == nil {
			return
		}
		c.Init = "#!/bin/sh\necho '" + ExitingAppLine + "'\nexit 1\n"
		c.setRun("auto_recovery", map[string]any{"policy": "no"})
	}
}

// NeverReadyLine is what the waiter container of NeverReady prints.
const NeverReadyLine = "waiter: up, never signalling ready"

// NeverReady adds a container "waiter" to the app group with status_goal
// READY that never sends the ready signal, and cuts the app group's
// timeout to timeout seconds: the goal times out and the update rolls
// back. device.json changes, so the update reboots.
func NeverReady(timeout int) Change {
	return func(o *Options) {
		o.Containers = append(o.Containers, Container{Name: "waiter", Group: "app", Roles: []string{"nobody"},
			Init: "#!/bin/sh\ntrap 'exit 0' TERM INT\necho '" + NeverReadyLine + "'\n" +
				"while :; do\n\tsleep 3600 &\n\twait $!\ndone\n",
			Run: map[string]any{"status_goal": "READY"}})
		if g := o.group("app"); g != nil {
			g["timeout"] = timeout
		}
	}
}

func (c *Container) setRun(key string, v any) {
	if c.Run == nil {
		c.Run = map[string]any{}
	}
	c.Run[key] = v
}

// InstallLine starts what the mgmt container of InstallAtBoot prints
// after `pv-ctl steps install` (then its exit code and output), and
// RunLine after `pv-ctl cmd run`.
func InstallLine(rev string) string { return "mgmt: install locals/" + rev + ": exit " }

// RunLine: see InstallLine.
func RunLine(rev string) string { return "mgmt: run locals/" + rev + ": exit " }

// InstallAtBoot makes the mgmt container, when it starts on a boot of
// revision 0 (pv_rev on the kernel command line) and the device has no
// step locals/<rev> yet, upload PackageDir/<pkg> as that step with
// `pv-ctl steps install`, printing InstallLine, and, if run, start the
// update with `pv-ctl cmd run locals/<rev>`, printing RunLine. A boot
// back into revision 0 after a rollback finds the step and does nothing.
// Apply it, with WithPackageDisk, to the factory Options.
func InstallAtBoot(pkg, rev string, run bool) Change {
	return func(o *Options) {
		c := o.container("mgmt")
		if c == nil {
			return
		}
		step := "locals/" + rev
		script := "booted=0\nfor w in $(cat /proc/cmdline); do case \"$w\" in pv_rev=*) booted=${w#pv_rev=} ;; esac; done\n" +
			"if [ \"$booted\" = 0 ] && ! /pantavisor/bin/pv-ctl steps ls 2>/dev/null | grep -qF '\"" + step + "\"'; then\n" +
			"\tout=$(/pantavisor/bin/pv-ctl steps install " + PackageDir + "/" + pkg + " " + step + " 2>/tmp/install.err)\n" +
			"\trc=$?\n" +
			"\techo \"" + InstallLine(rev) + "$rc: $out\"\n" +
			"\t[ $rc = 0 ] || echo \"mgmt: install failed: $(tail -n 3 /tmp/install.err | tr '\\n' ' ')\"\n" +
			"\techo \"mgmt: install uploaded $(grep -c uploading /tmp/install.err) objects\"\n"
		if run {
			script += "\tif [ $rc = 0 ]; then\n" +
				"\t\tout=$(/pantavisor/bin/pv-ctl cmd run " + step + " 2>&1)\n" +
				"\t\techo \"" + RunLine(rev) + "$?: $(echo \"$out\" | tr '\\n' ' ')\"\n" +
				"\tfi\n"
		}
		c.prependInit(script + "fi\n")
	}
}
