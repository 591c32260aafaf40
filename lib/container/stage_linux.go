package container

import (
	"fmt"
	"io"
	"os"
	"runtime"

	"golang.org/x/sys/unix"

	"pantavisor/lib/mount"
)

// The stage's inherited file descriptors.
const (
	specFD = 3 // read: the Spec as JSON, to EOF
	syncFD = 4 // socket: the parent sends one byte once the stage is in its cgroup;
	// the stage answers with an error text, or nothing: the fd is close-on-exec,
	// so EOF means the container init was exec'd
)

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
	err := stage(sync)
	if err != nil {
		fmt.Fprintf(sync, "%v", err)
	}
	return 1
}

func stage(sync *os.File) error {
	data, err := io.ReadAll(os.NewFile(specFD, "spec"))
	if err != nil {
		return fmt.Errorf("reading spec: %w", err)
	}
	spec, err := decodeSpec(data)
	if err != nil {
		return err
	}
	var goByte [1]byte
	if _, err := io.ReadFull(sync, goByte[:]); err != nil {
		return fmt.Errorf("waiting for the parent: %w", err)
	}
	if goByte[0] == 'C' {
		// The cgroup namespace roots at the cgroup the parent just put
		// us in, so it must be created now, not at clone time.
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			return fmt.Errorf("unshare cgroup namespace: %w", err)
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
			return fmt.Errorf("%s: %s: %w", spec.Name, st.name, err)
		}
	}
	return execInit(spec)
}
