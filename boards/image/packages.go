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
	"sort"
	"time"
)

// WritePackageTgz writes the package directory dir (json + objects/, as
// BuildPackage makes it) to out as the gzip-compressed tarball pvr export
// writes and `pv-ctl steps install` takes: "json" first, then
// objects/<sha> sorted, ustar, owner root, mode 0644, mtime 0, so the same
// package gives the same bytes. out is written through out.tmp + rename.
func WritePackageTgz(dir, out string) error {
	names := []string{"json"}
	objs, err := os.ReadDir(filepath.Join(dir, "objects"))
	if err != nil {
		return fmt.Errorf("package %s: %w", dir, err)
	}
	for _, e := range objs {
		names = append(names, "objects/"+e.Name())
	}
	sort.Strings(names[1:])
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	for _, name := range names {
		if err := addTarFile(tw, filepath.Join(dir, name), name); err != nil {
			f.Close()
			return fmt.Errorf("package %s: %w", out, err)
		}
	}
	err = errors.Join(tw.Close(), zw.Close(), f.Sync(), f.Close())
	if err != nil {
		return fmt.Errorf("package %s: %w", out, err)
	}
	return os.Rename(tmp, out)
}

func addTarFile(tw *tar.Writer, path, name string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", path)
	}
	hdr := &tar.Header{Name: name, Mode: 0o644, Size: fi.Size(), ModTime: time.Unix(0, 0),
		Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// Package disk: how update packages reach the guest. QEMU attaches the
// disk read-only (qemu.Options.ReadOnlyDisks) after the storage disk, so
// the guest sees it as PackageDiskDevice; WithPackageDisk makes the mgmt
// container mount it (lxc.mount.entry, ext4 read-only, optional) at
// PackageDir, where `pv-ctl steps install` reads a package. No privilege
// is needed inside the container: the mount is done by the container
// launcher, like the container's other mount entries, and the disk is a
// plain ext4 filesystem (the initramfs has ext4 for the storage) made
// with mkfs.ext4 -d, without loop devices or mounts on the host.
const (
	PackageDiskDevice = "/dev/vdb"
	PackageDir        = "/updates"
	PackageDiskLabel  = "pvupdates"
)

// PackagesLine starts what the mgmt container of WithPackageDisk prints
// when it starts: "mgmt: packages: " then the files in PackageDir.
const PackagesLine = "mgmt: packages: "

// WithPackageDisk makes the mgmt container of o mount the package disk at
// PackageDir (skipped when the disk is absent) and print PackagesLine
// with its files at start. Apply it to the factory Options before
// building the image; updates derived from them keep it.
func WithPackageDisk(o *Options) {
	withPackages(o, PackageDiskDevice+" "+PackageDir[1:]+" ext4 ro,nodev,nosuid,noexec,create=dir,optional 0 0")
}

// PackageStorageDir is where a board with one disk (the Pi's SD card)
// keeps the update packages instead: a directory of the storage partition
// (Options.StorageFiles put them there), which WithStoragePackages binds
// read-only at PackageDir in the mgmt container.
const PackageStorageDir = "packages"

// WithStoragePackages is WithPackageDisk for a board with one disk: the
// mgmt container binds the storage's PackageStorageDir at PackageDir
// (optional) and prints PackagesLine at start.
func WithStoragePackages(o *Options) {
	withPackages(o, "/storage/"+PackageStorageDir+" "+PackageDir[1:]+" none bind,ro,create=dir,optional 0 0")
}

// withPackages gives o's mgmt container the mount entry of its package
// source at PackageDir and the PackagesLine it prints at start.
func withPackages(o *Options, entry string) {
	if o.Containers == nil {
		o.Containers = Containers()
	}
	if c := o.container("mgmt"); c != nil {
		c.Mounts = append(append([]string(nil), c.Mounts...), entry)
		c.prependInit("echo \"" + PackagesLine + "$(ls " + PackageDir + " 2>/dev/null | tr '\\n' ' ')\"\n")
	}
}

// BuildPackageDisk writes out, a raw ext4 image (label PackageDiskLabel,
// no partition table) holding each file of pkgs (name on the disk → file
// on the host) at its root, sized to fit:
//  1. hard-link (or copy) the files into a staging directory beside out;
//  2. a sparse file of their size plus 8 MiB for the filesystem, rounded
//     to MiB;
//  3. mkfs.ext4 -d the staging directory into it (the whole file is the
//     filesystem); out is written through out.tmp + rename.
func BuildPackageDisk(ctx context.Context, pkgs map[string]string, out string) error {
	stage, err := os.MkdirTemp(filepath.Dir(out), ".pkgdisk-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	var total int64
	for name, src := range pkgs {
		if !filepath.IsLocal(name) || filepath.Base(name) != name {
			return fmt.Errorf("package disk: %q: want a plain file name", name)
		}
		fi, err := os.Stat(src)
		if err != nil {
			return fmt.Errorf("package disk: %w", err)
		}
		total += fi.Size()
		dst := filepath.Join(stage, name)
		if err := linkOrCopy(src, dst); err != nil {
			return fmt.Errorf("package disk: %s: %w", name, err)
		}
	}
	size := (total*11/10 + 8<<20 + 1<<20 - 1) &^ (1<<20 - 1)
	tmp := out + ".tmp"
	defer os.Remove(tmp)
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	err = errors.Join(f.Truncate(size), f.Close())
	if err != nil {
		return err
	}
	whole := Partition{Start: 0, Sectors: uint64(size / sectorSize)}
	if err := mkfs(ctx, tmp, whole, PackageDiskLabel, stage); err != nil {
		return fmt.Errorf("package disk %s: %w", out, err)
	}
	return os.Rename(tmp, out)
}
