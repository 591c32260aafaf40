# Pantavisor in Go. See README.md.
ARCH    ?= amd64
BOARD   ?= qemu-x86_64
OUT     := out
KCACHE  ?= $(HOME)/.cache/pvgo/kernels
KDIR    := $(KCACHE)/$(BOARD)
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
SUFFIX  := $(if $(filter amd64,$(ARCH)),,-$(ARCH))
BIN     := $(OUT)/pantavisor$(SUFFIX)
LDFLAGS := -s -w -X pantavisor/lib/buildinfo.Version=$(VERSION)
GOENV   := CGO_ENABLED=0 GOOS=linux GOARCH=$(ARCH) $(if $(filter arm,$(ARCH)),GOARM=7)
DEB_PKGS := qemu-system-x86 squashfs-tools e2fsprogs busybox-static cpio xz-utils dbus-daemon
FUZZ    := mkinitrd/cpio:FuzzRead mkinitrd/cpio:FuzzWrite lib/kmod:FuzzParseDep lib/cmdline:FuzzParse lib/config:FuzzParse \
           lib/rawjson:FuzzParse lib/state:FuzzParse lib/pvrpkg:FuzzWalk lib/lxcconf:FuzzParse \
           lib/cgroup:FuzzParseMountinfo lib/cgroup:FuzzParseProcCgroup lib/sysinfo:FuzzParseUptime
export PV_KERNEL_CACHE := $(KCACHE)

.PHONY: all build nohub initrd deps kernel size test test-unit fuzz bench run clean

all: build

build:
	$(GOENV) go build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./dispatch

nohub:
	$(GOENV) go build -trimpath -tags nohub -ldflags '$(LDFLAGS)' -o $(BIN)-nohub ./dispatch

initrd: build kernel
	go run ./mkinitrd -binary $(BIN) -board $(BOARD) -kernel $(KDIR) -o $(OUT)/initrd-$(BOARD).img

deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi
	go mod download
	$(MAKE) kernel

kernel:
	boards/fetch-kernel.sh $(BOARD) $(KCACHE)

size: kernel
	go run ./size-budget -kernel $(KDIR)

test-unit:
	go vet ./...
	CGO_ENABLED=0 GOARCH=arm64 go build ./... && CGO_ENABLED=0 GOARCH=arm GOARM=7 go build ./...
	go test -count=1 ./...

fuzz:
	@for t in $(FUZZ); do pkg=$${t%%:*}; fn=$${t##*:}; \
	  go test -run='^$$' -fuzz="^$$fn\$$" -fuzztime=10s ./$$pkg || exit 1; done

# Benchmarks report throughput against a baseline measured in the same run.
bench:
	go test -run='^$$' -bench='HashFile|Sha256sum' -benchtime=10x ./lib/storage

test: deps test-unit size fuzz

run: initrd
	go run ./boards/qemu/cmd/qemu-boot -board $(BOARD) -kernel $(KDIR)/vmlinuz -initrd $(OUT)/initrd-$(BOARD).img

clean:
	rm -rf $(OUT)
