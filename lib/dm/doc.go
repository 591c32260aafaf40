// Package dm drives the kernel's device-mapper through the ioctls on
// /dev/mapper/control (no dmsetup, no cryptsetup, no libdevmapper): create a
// single-target mapping, remove it, and build dm-crypt tables.
package dm
