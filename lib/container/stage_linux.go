package container

import (
	"io"
	"os"
	"runtime"

	"golang.org/x/sys/unix"

	"pantavisor/lib/mount"
	"pantavisor/lib/printf"
)

// The stage's inherited file descriptors.
const (
	specFD = 3 // read: the Spec as JSON, to EOF
	syncFD = 4 // socket: the stage says readyByte once its runtime is up; the
	// parent sends the go byte once the stage is in its cgroup; the stage
	// answers with an error text, or nothing: the fd is close-on-exec, so
	// EOF means the container init was exec'd
)

// readyByte is the stage's first word on the sync socket: it is up and
// waits for its Spec.
const readyByte = 'r'

// The go byte, which releases the stage, is a set of these bits: the
// namespaces the stage creates itself (unshare, on the thread that will
// exec the init) before its steps. The cgroup namespace roots at the
// cgroup the parent has just put the stage in; the mount namespace must
// copy the mounts the parent made after the clone (between Spawn and
// Stage.Start: the container's volumes).
const (
	goCgroupNS = 1 << iota
	goMountNS
)

// goByte is the go byte for a container with these clone flags.
func goByte(cloneflags uintptr) byte {
	var b byte
	if cloneflags&unix.CLONE_NEWCGROUP != 0 {
		b |= goCgroupNS
	}
	if cloneflags&unix.CLONE_NEWNS != 0 {
		b |= goMountNS
	}
	return b
}

// unshareFlags are the namespaces go byte b asks the stage to create.
func unshareFlags(b byte) int {
	var flags int
	if b&goCgroupNS != 0 {
		flags |= unix.CLONE_NEWCGROUP
	}
	if b&goMountNS != 0 {
		flags |= unix.CLONE_NEWNS
	}
	return flags
}

// StageArg is the argument that makes the pv-container applet run the stage.
const StageArg = "__stage"

// StageMain is the in-namespace stage: the parent re-executes the binary
// with new namespaces (clone flags) and this reads the Spec, configures
// the network interfaces the parent created (Spec.Net), assembles the
// rootfs, pivots into it, drops privileges and execs the container init.
// It returns only on failure, after telling the parent why.
func StageMain() int {
	// One thread does everything: the cgroup namespace is unshared on it
	// and the exec must come from it. It is never unlocked.
	runtime.LockOSThread()
	// Inherited fds are not close-on-exec: the init must not keep them
	// (the parent reads the sync socket to EOF to know the exec happened).
	unix.CloseOnExec(specFD)
	unix.CloseOnExec(syncFD)
	sync := os.NewFile(syncFD, "sync")
	if _, err := sync.Write([]byte{readyByte}); err != nil {
		return 1 // the parent is gone
	}
	err := stage(sync)
	if err != nil {
		printf.Fprintf(sync, "%v", err)
	}
	return 1
}

func stage(sync *os.File) error {
	data, err := io.ReadAll(os.NewFile(specFD, "spec"))
	if err != nil {
		return printf.Errorf("reading spec: %w", err)
	}
	spec, err := decodeSpec(data)
	if err != nil {
		return err
	}
	var release [1]byte
	if _, err := io.ReadFull(sync, release[:]); err != nil {
		return printf.Errorf("waiting for the parent: %w", err)
	}
	if flags := unshareFlags(release[0]); flags != 0 {
		if err := unix.Unshare(flags); err != nil {
			return printf.Errorf("%s: creating namespaces (unshare %#x): %w", spec.Name, flags, err)
		}
	}
	steps := []struct {
		name string
		run  func(*Spec) error
	}{
		{"configuring the network", setupNet},
		{"making mounts private", func(*Spec) error { return mount.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, "") }},
		{"mounting the rootfs", mountRoot},
		{"mounting /dev", mountDev},
		{"mounting", mountAll},
		{"populating /dev", populateDev},
		{"setting the hostname", setHostname},
		{"entering the rootfs", func(s *Spec) error { return pivotRoot(s.Root) }},
		{"dropping privileges", dropPrivileges},
		{"setting no_new_privs", setNoNewPrivs},
	}
	for _, st := range steps {
		if err := st.run(spec); err != nil {
			return printf.Errorf("%s: %s: %w", spec.Name, st.name, err)
		}
	}
	return execInit(spec)
}
