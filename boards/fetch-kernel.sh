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
# The package's device trees (usr/lib/linux-image-<release>/) are kept as
# CACHE/<board>/dtbs, and its build configuration (boot/config-<release>)
# as CACHE/<board>/config: mkinitrd reads which xz BCJ filters the
# kernel's decoder has.
#
# A board with "boot_packages" (rpi64: "raspi-firmware u-boot-rpi", the
# firmware and U-Boot its boot partition holds) gets those packages of its
# architecture extracted into CACHE/<board>/boot. They are fetched with a
# private apt configuration (sources, lists and cache under CACHE/apt) for
# the machine's own Debian archive and suite with the main and
# non-free-firmware components, so the machine's apt sources stay as they
# are.
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

# boot_packages: the board's boot_packages extracted into $dest/boot.
boot_packages() {
	pkgs=$(field boot_packages)
	[ -n "$pkgs" ] || return 0
	[ -f "$dest/boot/.fetched" ] && [ "$(cat "$dest/boot/.fetched")" = "$pkgs" ] && return 0
	apt="$cache/apt"
	mkdir -p "$apt/lists/partial" "$apt/archives/partial"
	# The machine's archive and suite: the first deb822 stanza of
	# debian.sources, or the first deb line of sources.list.
	uri=; suite=
	if [ -f /etc/apt/sources.list.d/debian.sources ]; then
		uri=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources | head -n1)
		suite=$(sed -n 's/^Suites: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources | head -n1)
	fi
	if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
		# shellcheck disable=SC2046
		set -- $(grep -E '^deb +[a-z]+:' /etc/apt/sources.list | head -n1)
		uri=${2:-}; suite=${3:-}
	fi
	uri=${uri:-http://deb.debian.org/debian}
	suite=${suite:-bookworm}
	printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main non-free-firmware\nArchitectures: %s\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
		"$uri" "$suite" "$debarch" > "$apt/boot.sources"
	o="-o Dir::Etc::SourceList=$apt/boot.sources -o Dir::Etc::SourceParts=$apt/none -o Dir::State::Lists=$apt/lists"
	o="$o -o Dir::Cache=$apt -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o APT::Sandbox::User=root"
	# The board's architecture as apt's own: names resolve to it or to "all".
	o="$o -o APT::Architecture=$debarch -o APT::Architectures=$debarch"
	rm -rf "$dest/boot.tmp"
	mkdir -p "$dest/boot.tmp"
	updated=
	for p in $pkgs; do
		deb=$(ls "$debdir" | grep "^${p}_" | grep -E "_(${debarch}|all)\.deb\$" | head -n1 || true)
		if [ -z "$deb" ]; then
			if [ -z "$updated" ]; then
				# shellcheck disable=SC2086
				apt-get $o update -qq >&2
				updated=1
			fi
			# shellcheck disable=SC2086
			(cd "$debdir" && apt-get $o download -q "$p" >&2)
			deb=$(ls "$debdir" | grep "^${p}_" | grep -E "_(${debarch}|all)\.deb\$" | head -n1)
		fi
		dpkg-deb -x "$debdir/$deb" "$dest/boot.tmp"
	done
	echo "$pkgs" > "$dest/boot.tmp/.fetched"
	rm -rf "$dest/boot"
	mv "$dest/boot.tmp" "$dest/boot"
}

if [ -f "$dest/vmlinuz" ] && [ -d "$dest/modules" ] && [ -d "$dest/dtbs" ] && [ -f "$dest/config" ]; then
	foreign_busybox
	boot_packages
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
cp "$tmp"/x/boot/config-* "$tmp/config"
mv "$tmp"/x/lib/modules "$tmp/modules" 2>/dev/null || mv "$tmp"/x/usr/lib/modules "$tmp/modules"
mkdir -p "$tmp/dtbs"
for d in "$tmp"/x/usr/lib/linux-image-*; do
	if [ -d "$d" ]; then cp -a "$d"/. "$tmp/dtbs/"; fi
done
echo "$real" > "$tmp/package"
rm -rf "$tmp/x" "$dest"
mv "$tmp" "$dest"
foreign_busybox
boot_packages
echo "$dest"
