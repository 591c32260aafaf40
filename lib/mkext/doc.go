// Package mkext formats a block device or file as a minimal ext2
// revision-1 filesystem (superblock with sparse backups, group
// descriptors, bitmaps, zeroed inode tables, a root directory and
// lost+found) that the kernel's ext4 driver mounts with -t ext4, because a
// device has no mkfs binary. Features are kept minimal: filetype
// (incompat), sparse_super and large_file (ro_compat); no journal, no
// extents, no dir_index, no checksums. The ext4 driver runs it as is (no
// journal: after a power loss the data is as the last writeback left it).
package mkext
