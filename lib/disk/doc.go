// Package disk sets up the disks of device.json (upstream's disk/): a
// dm-crypt-versatile image through lib/dm, swap on zram, a file or a block
// device, and volume disks (a bind of a storage directory, or ext4 on zram
// or a block device). Setup is the one entry point; it returns the mount
// point and the undo.
//
// A versatile disk follows upstream's model exactly: its 32-byte key is
// stored in PLAINTEXT next to the image (<dir>/<keyname>.txt); it guards
// against reading the image elsewhere, not against reading the storage.
// The key comes from /dev/hwrng when present, else the kernel's random
// source.
//
// A dual disk (dual.go) is set up by Set over its two sub-disks, as its
// init_order says.
//
// Not done here (refused with a clear error): dm-crypt-caam and
// dm-crypt-dcp (NXP key hardware and the kernel's trusted keys), and
// upstream's fsck/backup recovery of a crypt image that fails to mount.
package disk
