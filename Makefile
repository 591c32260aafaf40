# Pantavisor in Go. See README.md.
BOARD   ?= qemu-x86_64
QEMU_BOARDS := qemu-x86_64 qemu-arm64 rpi64
# The board's field of boards/<BOARD>/board.json.
board_field = $(shell sed -n 's/^ *"$(1)": *"\([^"]*\)".*/\1/p' boards/$(BOARD)/board.json)
# GOARCH of the device binary: the board's (make image BOARD=qemu-arm64 builds arm64).
ARCH    ?= $(or $(call board_field,arch),amd64)
OUT     := out
KCACHE  ?= $(HOME)/.cache/pvgo/kernels
KDIR    := $(KCACHE)/$(BOARD)
# TRUST=DIR: the initramfs's trust stores (*.crt, pub.pem) instead of the board's "trust".
TRUST   ?=
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
SUFFIX  := $(if $(filter amd64,$(ARCH)),,-$(ARCH))
BIN     := $(OUT)/pantavisor$(SUFFIX)
FOREIGN := $(filter-out $(shell go env GOHOSTARCH),$(ARCH))
LDFLAGS := -s -w -X pantavisor/lib/buildinfo.Version=$(VERSION)
# The device build's arguments (-trimpath, -gcflags): one list, also read by size-budget.
BUILDFLAGS := $(shell sed -e 's/\#.*//' buildflags/flags.txt)
GOENV   := CGO_ENABLED=0 GOOS=linux GOARCH=$(ARCH) $(if $(filter arm,$(ARCH)),GOARM=7)
DEB_PKGS := qemu-system-x86 squashfs-tools e2fsprogs busybox-static cpio xz-utils dbus-daemon \
            grub-pc-bin grub-common fdisk kmod curl netcat-openbsd \
            qemu-system-arm u-boot-qemu u-boot-tools dosfstools nftables iproute2
# Installed without their recommends: qemu-user's (qemu-user-binfmt) would
# let this host run ARM binaries, which tests expect to fail to start.
DEB_PKGS_BARE := qemu-user
FUZZ    := mkinitrd/cpio:FuzzRead mkinitrd/cpio:FuzzWrite lib/kmod:FuzzParseDep lib/cmdline:FuzzParse lib/config:FuzzParse \
           lib/rawjson:FuzzParse lib/state:FuzzParse lib/ipam:FuzzParsePools lib/pvrpkg:FuzzWalk lib/lxcconf:FuzzParse \
           lib/cgroup:FuzzParseMountinfo lib/cgroup:FuzzParseProcCgroup lib/sysinfo:FuzzParseUptime \
           lib/logs:FuzzParse lib/logs:FuzzSplit lib/logs:FuzzEscape lib/pvtx:FuzzState lib/pvtx:FuzzParseStatus lib/b64:FuzzDecodeURL lib/b64:FuzzDecodeStd lib/http1:FuzzRequest lib/ctrl:FuzzCommand lib/ctrl:FuzzRoute \
           lib/ctrl:FuzzLocalName lib/bootloader:FuzzParseGrubenv lib/bootloader:FuzzParseUboot \
           lib/pvs:FuzzCanonical lib/pvs:FuzzParseHeader lib/pvs:FuzzPayload lib/cert:FuzzParse lib/cert:FuzzDifferential lib/pubkey:FuzzECDSA \
           lib/instance:FuzzMountsBelow lib/instance:FuzzHolderPid lib/pid1:FuzzProcField \
           lib/hub/hubhttp:FuzzParseContentRange lib/hub/hubhttp:FuzzConnectStatus \
           lib/hub/proto:FuzzParseDevice lib/hub/proto:FuzzParseSteps lib/hub/proto:FuzzParseObject lib/hub/proto:FuzzParseUserMeta \
           lib/rtnl:FuzzParse lib/nft:FuzzParseAcks lib/ip4:FuzzParse lib/kmod:FuzzParseAlias lib/dm:FuzzDecode \
           lib/mkext:FuzzNewLayout lib/swap:FuzzParseSwaps lib/blkid:FuzzProbe lib/cgroup:FuzzParseCgroups \
           lib/meta:FuzzDecodeObject lib/meta:FuzzParseCPUModel lib/printf:FuzzLikeFmt lib/gz:FuzzRoundTrip lib/hexbytes:FuzzDecode lib/tcpdial:FuzzParseAnswer
export PV_KERNEL_CACHE := $(KCACHE)

.PHONY: all build nohub initrd image deps kernel size test test-unit lint fuzz bench bench-container bench-hub bench-boot bench-boot-objects run run-kernel clean

all: build

# The binary ships without the tables only tracebacks read (linetab, README "Size
# budget"); $(BIN).debug is the same build with them, for
# `go run ./linetab/cmd/linetab symbolize $(BIN).debug < traceback`.
build:
	$(GOENV) go build $(BUILDFLAGS) -ldflags '$(LDFLAGS)' -o $(BIN).debug ./dispatch
	go run ./linetab/cmd/linetab strip -o $(BIN) $(BIN).debug

nohub:
	$(GOENV) go build $(BUILDFLAGS) -tags nohub -ldflags '$(LDFLAGS)' -o $(BIN)-nohub.debug ./dispatch
	go run ./linetab/cmd/linetab strip -o $(BIN)-nohub $(BIN)-nohub.debug

# A foreign-arch binary cannot list its applets here: the host build's
# list is the same table (dispatch).
initrd: build kernel
	$(if $(FOREIGN),go run ./dispatch --list > $(OUT)/applets.txt)
	go run ./mkinitrd -binary $(BIN) -board $(BOARD) -kernel $(KDIR) $(if $(TRUST),-trust $(TRUST)) \
	  $(if $(FOREIGN),-applets $(OUT)/applets.txt) -o $(OUT)/initrd-$(BOARD).img

# A board of another Debian architecture (qemu-arm64) fetches its kernel
# and busybox packages for that architecture: dpkg must know it.
# The QEMU tests boot both QEMU boards: make deps fetches both kernels.
deps:
	@for b in $(sort $(BOARD) $(QEMU_BOARDS)); do \
	  debarch=$$(sed -n 's/^ *"debian_arch": *"\([^"]*\)".*/\1/p' boards/$$b/board.json); \
	  if [ -n "$$debarch" ] && [ "$$debarch" != "$$(dpkg --print-architecture)" ] && \
	    ! dpkg --print-foreign-architectures | grep -qx "$$debarch"; then \
	    dpkg --add-architecture $$debarch && apt-get update -qq; fi; done
	@missing=$$(for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi
	@missing=$$(for p in $(DEB_PKGS_BARE); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; fi
	go mod download
	for b in $(sort $(BOARD) $(QEMU_BOARDS)); do boards/fetch-kernel.sh $$b $(KCACHE) || exit 1; done

kernel:
	boards/fetch-kernel.sh $(BOARD) $(KCACHE)

size:
	boards/fetch-kernel.sh qemu-x86_64 $(KCACHE)
	boards/fetch-kernel.sh qemu-arm64 $(KCACHE)
	go run ./size-budget -kernel $(KCACHE)/qemu-x86_64 -kernel-arm64 $(KCACHE)/qemu-arm64

# gofmt must list nothing; errcheck (a tool of go.mod, so offline after
# go mod download) checks non-test code with the exclusions and their
# reasons in errcheck.excludes: Close and Remove may stay unchecked,
# writes, syncs, renames and sends may not.
lint:
	@bad=$$(gofmt -l .); if [ -n "$$bad" ]; then echo "gofmt -l: run gofmt -w on:"; echo "$$bad"; exit 1; fi
	go tool errcheck -ignoretests -exclude errcheck.excludes ./...

test-unit: lint
	go vet ./...
	CGO_ENABLED=0 GOARCH=arm64 go build ./... && CGO_ENABLED=0 GOARCH=arm GOARM=7 go build ./...
	go test -count=1 -tags nohub ./lib/digest ./lib/storage
	go test -count=1 -timeout=60m ./... # boards/image alone boots QEMU for about 20 min (the update scenarios)

# A failure is run again once: Go's fuzzer now and then ends a run that
# found nothing with "context deadline exceeded" on a loaded machine, while
# a real crasher is saved under testdata/fuzz and fails the second run too.
fuzz:
	@for t in $(FUZZ); do pkg=$${t%%:*}; fn=$${t##*:}; \
	  go test -list="^$$fn\$$" ./$$pkg | grep -qx "$$fn" || { echo "fuzz: $$t: no such fuzz target"; exit 1; }; \
	  go test -run='^$$' -fuzz="^$$fn\$$" -fuzztime=10s ./$$pkg || \
	  { echo "fuzz: $$t failed, running it again"; go test -run='^$$' -fuzz="^$$fn\$$" -fuzztime=10s ./$$pkg; } || exit 1; done

# Benchmarks report throughput against a baseline measured in the same run.
bench:
	go test -run='^$$' -bench='HashFile|Sha256sum' -benchtime=10x ./lib/storage
	go test -run='^TestLatencyReport$$' -bench='^BenchmarkGet(Ours|NetHTTP)$$' -v ./lib/http1 | tee $(OUT)/bench-ctrl.txt
	@awk '/^BenchmarkGet/ {split($$1,a,"/"); k=a[1] "/" a[2]; sub(/-[0-9]+$$/,"",k); v[k]=$$3} \
	  END {for (k in v) if (k ~ /Ours/) {n=k; sub(/Ours/,"NetHTTP",n); if (v[n]) \
	    printf "bench-ctrl: %s: ours %.0f ns/op, net/http %.0f ns/op, requests/s ratio ours/net-http %.2fx (goal >= 1.0x)\n", k, v[k], v[n], v[n]/v[k]}}' $(OUT)/bench-ctrl.txt

# Container start latency (root): ours (test-binary stage on a pre-mounted
# squashfs, with our own loop+squashfs mount per start, with the device
# binary's stage, and alternating with crun) against Debian's crun on the
# same squashfs, in the same run; prints ours/crun of ms/run (goal <= 0.5).
# CGO_ENABLED=0: the test binary playing the stage is static like the device.
bench-container: build
	@dpkg -s crun >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq crun; }
	@mkdir -p $(OUT)
	CGO_ENABLED=0 PV_BENCH_BINARY=$(abspath $(BIN)) go test -count=1 -run='^$$' -bench='StartTrue|CrunTrue' \
	  -benchtime=100x ./lib/container | tee $(OUT)/bench-container.txt
	@awk '/^(--- )?FAIL|^panic/ {fail = 1} \
	  /^Benchmark/ {n = $$1; sub(/-[0-9]+$$/, "", n); order[++k] = n; for (i = 3; i < NF; i++) m[n, $$(i+1)] = $$i} \
	  END {c = m["BenchmarkCrunTrue", "ms/run"]; if (fail || c == "") {print "bench-container: no crun figure (failed or skipped)"; exit 1} \
	    for (j = 1; j <= k; j++) {n = order[j]; if (n == "BenchmarkCrunTrue") continue; \
	      if (m[n, "ours/crun"] != "") printf "ours/crun %-38s %.2fx (%.2f / %.2f ms, alternating runs; goal <= 0.50x)\n", n, m[n, "ours/crun"], m[n, "ms/run"], m[n, "ms/crun"]; \
	      else printf "ours/crun %-38s %.2fx (%.2f / %.2f ms; goal <= 0.50x)\n", n, m[n, "ms/run"] / c, m[n, "ms/run"], c}}' \
	  $(OUT)/bench-container.txt

# The hub client against lib/hub/hubtest's fake hub (TLS, its own CA):
# download throughput with streaming sha256 into a real storage vs curl
# writing the same 64 MiB object from the same signed URL, alternating
# runs (goal >= 0.9); an idle hour (default intervals, fake clock) counted
# at TCP level, TLS handshakes included, per endpoint; what a 200 MiB
# download adds to a child process's peak RSS (goal: anon well under 1 MiB).
bench-hub:
	@dpkg -s curl >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl; }
	@mkdir -p $(OUT)
	go test -count=1 -run='^$$' -bench='^BenchmarkDownload$$' -benchtime=6x ./lib/hub | tee $(OUT)/bench-hub.txt
	go test -count=1 -run='^$$' -bench='^BenchmarkDownloadMemory$$' -benchtime=2x ./lib/hub | tee -a $(OUT)/bench-hub.txt
	go test -count=1 -run='^$$' -bench='^BenchmarkIdleTraffic$$' -benchtime=1x ./lib/hub | tee -a $(OUT)/bench-hub.txt
	@awk '/^(--- )?FAIL|^panic/ {fail = 1} \
	  /^Benchmark/ {n = $$1; sub(/-[0-9]+$$/, "", n); for (i = 3; i < NF; i++) m[n, $$(i+1)] = $$i} \
	  /bench-hub: idle traffic: / {sub(/^.*bench-hub: /, "bench-hub: "); ep[++e] = $$0} \
	  END {d = "BenchmarkDownload"; k = "BenchmarkDownloadMemory"; t = "BenchmarkIdleTraffic"; \
	    if (fail || m[d, "ours/curl"] == "" || m[k, "KiB-peak-rss-growth"] == "" || m[t, "KB/hour"] == "") {print "bench-hub: no figures (failed or skipped)"; exit 1} \
	    printf "bench-hub: download: ours %.1f MB/s, curl %.1f MB/s, ours/curl %.2f (goal >= 0.9)\n", m[d, "MB/s-ours"], m[d, "MB/s-curl"], m[d, "ours/curl"]; \
	    printf "bench-hub: idle traffic: %.0f KB/hour (requests: %d; sent %.0f KB, received %.0f KB; TCP payload, TLS handshakes included)\n", \
	      m[t, "KB/hour"], m[t, "requests/hour"], m[t, "KB-sent/hour"], m[t, "KB-received/hour"]; \
	    for (j = 1; j <= e; j++) print ep[j]; \
	    printf "bench-hub: 200 MiB download memory: peak RSS +%d KiB (anon +%d KiB, file +%d KiB), Go Sys +%d KiB, %d KiB allocated, RSS before %d KiB (goal: anon well under 1024 KiB; main loop <= 6 MiB Pss)\n", \
	      m[k, "KiB-peak-rss-growth"], m[k, "KiB-peak-anon-growth"], m[k, "KiB-peak-file-growth"], m[k, "KiB-go-sys-growth"], m[k, "KiB-allocated"], m[k, "KiB-rss-before"]}' \
	  $(OUT)/bench-hub.txt

# Boot time under QEMU TCG, kernel start (printk 0) -> all three containers
# of revision 0 started: ours (the board's GRUB disk with our initramfs)
# against a busybox /init script that loads the same modules, mounts the
# same storage and squashfs images and starts the same three inits, on the
# same kernel, GRUB and disk. PV_BENCH_RUNS alternating pairs (default 3);
# prints the medians and ours/baseline (goal <= 1.3), and the same from
# /init on. Work files and the host-stamped consoles in $(OUT)/bench-boot.
bench-boot: kernel
	@mkdir -p $(OUT)/bench-boot
	PV_BENCH_WORK=$(abspath $(OUT))/bench-boot go test -count=1 -timeout=60m -run='^$$' -bench='BootToStarted' \
	  -benchtime=1x ./boards/image | tee $(OUT)/bench-boot.txt
	@awk '/^(--- )?FAIL|^panic/ {fail = 1} \
	  /^BenchmarkBootToStarted/ {for (i = 3; i < NF; i++) m[$$(i+1)] = $$i} \
	  END {if (fail || m["ours/baseline"] == "") {print "bench-boot: no figures (failed or skipped)"; exit 1} \
	    printf "bench-boot: kernel start -> all containers STARTED (median, TCG): ours %.2f s, baseline %.2f s, ours/baseline %.2fx (goal <= 1.20x, issue 14)\n", \
	      m["s-ours"], m["s-baseline"], m["ours/baseline"]; \
	    printf "bench-boot: /init -> all containers STARTED (median): ours %.2f s, baseline %.2f s, %.2fx\n", \
	      m["s-ours-from-init"], m["s-baseline-from-init"], m["s-ours-from-init"] / m["s-baseline-from-init"]}' $(OUT)/bench-boot.txt

# The boot bench's objects variant: our image with and without
# PV_BENCH_EXTRA_MB (default 300) MB more of objects in revision 0, each
# booted once first (the factory objects are sealed with fs-verity then);
# PV_BENCH_RUNS alternating pairs, medians and the change (goal <= 5 %).
bench-boot-objects: kernel
	@mkdir -p $(OUT)/bench-boot
	PV_BENCH_WORK=$(abspath $(OUT))/bench-boot go test -count=1 -timeout=90m -run='^$$' -bench='BootObjects' \
	  -benchtime=1x ./boards/image | tee $(OUT)/bench-boot-objects.txt

test: deps test-unit size fuzz

# The board's bootable disk: GRUB in the MBR, or for a uboot board a FAT
# boot partition LABEL=<boot_label> with U-Boot's boot script and try-boot
# latch, and ext4 LABEL=<storage_label> with the factory revision 0
# (boards/image). modules.squashfs is cached in the work dir. pantavisor
# install runs from $(BIN) when it is this machine's arch.
image: build initrd kernel
	go run ./boards/image/cmd/mkimage -board $(BOARD) -kernel $(KDIR) -initrd $(OUT)/initrd-$(BOARD).img \
	  $(if $(filter $(shell go env GOHOSTARCH),$(ARCH)),-pantavisor $(BIN)) \
	  -work $(OUT)/image-$(BOARD) -o $(OUT)/disk-$(BOARD).img

# Boots the disk image through its bootloader, web container on
# http://127.0.0.1:8080/; without an image, the kernel and initramfs.
run: deps
	@if $(MAKE) image; then \
	  go run ./boards/qemu/cmd/qemu-boot -board $(BOARD) -disk $(OUT)/disk-$(BOARD).img -forward 8080:80; \
	else echo "make run: no disk image, booting the kernel and initramfs"; $(MAKE) run-kernel; fi

run-kernel: initrd
	go run ./boards/qemu/cmd/qemu-boot -board $(BOARD) -kernel $(KDIR)/vmlinuz -initrd $(OUT)/initrd-$(BOARD).img

clean:
	rm -rf $(OUT)
