#!/bin/sh
# fetch-kernel.sh BOARD CACHE: download the board's Debian kernel package once
# and extract vmlinuz and modules into CACHE/<board>/. Prints the kernel dir.
# For a board of another architecture (dpkg --add-architecture, as make deps
# does) it also extracts that architecture's busybox-static as
# CACHE/<board>/busybox, the demo containers' busybox (boards/image).
#
# The board's metapackage (for example linux-image-amd64) is resolved to the
# one real kernel package it depends on with `apt-cache depends`; only that
# single .deb is downloaded (never a glob), and it is reused when present.
set -eu
board=$1
cache=$2
here=$(cd "$(dirname "$0")" && pwd)
conf="$here/$board/board.json"
[ -f "$conf" ] || { echo "fetch-kernel: no board $board ($conf)" >&2; exit 2; }
field() { sed -n "s/^ *\"$1\": *\"\([^\"]*\)\".*/\1/p" "$conf"; }
meta=$(field kernel_package)
debarch=$(field debian_arch)
[ -n "$meta" ] || { echo "fetch-kernel: $conf has no kernel_package" >&2; exit 2; }

dest="$cache/$board"
mkdir -p "$dest"
debdir="$cache/debs"
mkdir -p "$debdir"

# foreign_busybox: busybox-static:<debarch>'s bin/busybox as $dest/busybox.
foreign_busybox() {
	[ "$debarch" != "$(dpkg --print-architecture)" ] || return 0
	[ -f "$dest/busybox" ] && return 0
	bb=$(ls "$debdir" | grep '^busybox-static_' | grep "_${debarch}.deb\$" | head -n1 || true)
	if [ -z "$bb" ]; then
		(cd "$debdir" && apt-get download -q "busybox-static:$debarch" >&2)
		bb=$(ls "$debdir" | grep '^busybox-static_' | grep "_${debarch}.deb\$" | head -n1)
	fi
	rm -rf "$dest/busybox.x"
	dpkg-deb -x "$debdir/$bb" "$dest/busybox.x"
	mv "$dest/busybox.x/bin/busybox" "$dest/busybox"
	rm -rf "$dest/busybox.x"
}

if [ -f "$dest/vmlinuz" ] && [ -d "$dest/modules" ]; then
	foreign_busybox
	echo "$dest"
	exit 0
fi

pkgspec="$meta"
if [ "$debarch" != "$(dpkg --print-architecture)" ]; then
	pkgspec="$meta:$debarch"
fi
# The metapackage depends on exactly one linux-image-<version>-<flavour>.
real=$(apt-cache depends "$pkgspec" | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n1)
if [ -z "$real" ]; then
	apt-get update -qq
	real=$(apt-cache depends "$pkgspec" | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n1)
fi
[ -n "$real" ] || { echo "fetch-kernel: cannot resolve $pkgspec to a kernel package" >&2; exit 1; }
real=${real%%:*}

deb=$(ls "$debdir" 2>/dev/null | grep -F "${real}_" | grep "_${debarch}.deb\$" | head -n1 || true)
if [ -z "$deb" ]; then
	spec="$real"
	[ "$debarch" = "$(dpkg --print-architecture)" ] || spec="$real:$debarch"
	(cd "$debdir" && apt-get download -q "$spec" >&2)
	deb=$(ls "$debdir" | grep -F "${real}_" | grep "_${debarch}.deb\$" | head -n1)
fi

tmp="$dest.tmp"
rm -rf "$tmp"
mkdir -p "$tmp/x"
dpkg-deb -x "$debdir/$deb" "$tmp/x"
cp "$tmp"/x/boot/vmlinuz-* "$tmp/vmlinuz"
mv "$tmp"/x/lib/modules "$tmp/modules" 2>/dev/null || mv "$tmp"/x/usr/lib/modules "$tmp/modules"
echo "$real" > "$tmp/package"
rm -rf "$tmp/x" "$dest"
mv "$tmp" "$dest"
foreign_busybox
echo "$dest"
