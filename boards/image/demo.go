package image

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// The demo image (make image) is the factory image plus what a newcomer
// needs on the console: the debug shell on (DemoCmdline) and two update
// packages to try from it, kept on the storage partition in DemoDir and
// bound read-only at DemoMount in the mgmt container:
//   - DemoWebV2Package: the web page says DemoWebV2Line (an update
//     applied without a reboot);
//   - DemoBrokenPackage: web exits at start (ExitingApp), so the update
//     fails and the device goes back by itself.
//
// Each package holds only the objects revision 0 lacks (the device has
// the others), so the image grows by about two container squashfs.
const (
	DemoDir           = "demo"  // on the storage partition (/storage/demo on the device)
	DemoMount         = "/demo" // in the mgmt container
	DemoWebV2Package  = "web-v2.tgz"
	DemoBrokenPackage = "broken.tgz"
	// DemoCmdline turns the console debug shell on (PV_DEBUG_SHELL at
	// the kernel command line level): the demo image's only difference
	// from the default, which is off.
	DemoCmdline = "pv_debug_shell=1"
	// DemoWebV2Line is the heading of web-v2's page.
	DemoWebV2Line = "Pantavisor device: web v2"
)

// WithDemo makes o the demo image's factory Options: the debug shell on
// the command line and the mgmt container binding the storage's DemoDir
// at DemoMount (optional: absent, it is skipped). Updates derived from o
// keep both.
func WithDemo(o *Options) {
	if o.Containers == nil {
		o.Containers = Containers()
	}
	o.Append = strings.TrimSpace(o.Append + " " + DemoCmdline)
	if c := o.container("mgmt"); c != nil {
		c.Mounts = append(append([]string(nil), c.Mounts...),
			"/storage/"+DemoDir+" "+DemoMount[1:]+" none bind,ro,create=dir,optional 0 0")
	}
}

// DemoWebV2 is web-v2's change: the web container (restart_policy
// container, so no reboot) puts DemoWebV2Line as its page's heading and
// prints VersionLine("web", "2").
func DemoWebV2() Change {
	return func(o *Options) {
		AppOnlyChange("2")(o)
		if c := o.container("web"); c != nil {
			c.Init = strings.Replace(c.Init, "<h1>Pantavisor device</h1>", "<h1>"+DemoWebV2Line+"</h1>", 1)
		}
	}
}

// DemoBroken is broken's change: web-v2 whose web exits at start
// (ExitingApp, no auto-recovery), so its update fails.
func DemoBroken() Change {
	return func(o *Options) {
		DemoWebV2()(o)
		ExitingApp()(o)
	}
}

// BuildDemo makes the demo disk image out from o (WithDemo applied
// here): BuildStorage, the two packages into <storage>/DemoDir
// (BuildDemoPackages), then WriteDisk.
func BuildDemo(ctx context.Context, o Options, out string) (*Result, error) {
	WithDemo(&o)
	if err := o.check(); err != nil {
		return nil, err
	}
	storage := filepath.Join(o.Work, "storage")
	installed, err := BuildStorage(ctx, o, storage)
	if err != nil {
		return nil, err
	}
	if err := BuildDemoPackages(ctx, o, filepath.Join(storage, DemoDir)); err != nil {
		return nil, err
	}
	res, err := WriteDisk(ctx, o, storage, out)
	if res != nil {
		res.Installed = installed
	}
	return res, err
}

// BuildDemoPackages writes DemoWebV2Package and DemoBrokenPackage into
// dir, derived from o, the factory Options whose package BuildStorage
// left in <Work>/pkg: each is BuildUpdatePackage's, less the objects
// that package holds (TrimPackage).
func BuildDemoPackages(ctx context.Context, o Options, dir string) error {
	have, err := os.ReadDir(filepath.Join(o.Work, "pkg", "objects"))
	if err != nil {
		return fmt.Errorf("demo packages: the factory package: %w", err)
	}
	skip := map[string]bool{}
	for _, e := range have {
		skip["objects/"+e.Name()] = true
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, change := range map[string]Change{DemoWebV2Package: DemoWebV2(), DemoBrokenPackage: DemoBroken()} {
		full := filepath.Join(o.Work, "full-"+name)
		if err := BuildUpdatePackage(ctx, o, change, full); err != nil {
			return err
		}
		err := TrimPackage(full, filepath.Join(dir, name), skip)
		os.Remove(full)
		if err != nil {
			return err
		}
		o.logf("demo package %s", filepath.Join(dir, name))
	}
	return nil
}

// TrimPackage copies the package tarball in to out without the entries
// named in skip ("objects/<sha>"), in order, as WritePackageTgz writes
// them. out is written through out.tmp + rename.
func TrimPackage(in, out string, skip map[string]bool) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("package %s: %w", in, err)
	}
	tmp := out + ".tmp"
	w, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			w.Close()
			return fmt.Errorf("package %s: %w", in, err)
		}
		if skip[hdr.Name] {
			continue
		}
		if err := tw.WriteHeader(hdr); err != nil {
			w.Close()
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			w.Close()
			return fmt.Errorf("package %s: %s: %w", in, hdr.Name, err)
		}
	}
	if err := errors.Join(tw.Close(), zw.Close(), w.Sync(), w.Close()); err != nil {
		return fmt.Errorf("package %s: %w", out, err)
	}
	return os.Rename(tmp, out)
}
