package buildflags

import (
	"fmt"
	"os"
	"os/exec"

	"pantavisor/linetab"
)

// Build is one `go build` of the device binary (./dispatch) as it ships:
// static, for Linux, with Args, then without the tables only tracebacks
// read (linetab.Strip: tracebacks print "?:0", and `linetab symbolize`
// puts positions back from a build with KeepLines).
type Build struct {
	Dir     string // the module's root; "" is the current directory
	Arch    string // GOARCH; "" is the host's (arm builds GOARM=7)
	Tags    string // -tags; "" for none
	LDFlags string // -ldflags; "" for none
	Out     string // the binary to write
	// KeepLines skips the strip: the size gate's per-package figures read
	// the symbol table of such a build.
	KeepLines bool
}

// Run builds, then strips unless KeepLines.
func (b Build) Run() error {
	args := append([]string{"build"}, Args()...)
	if b.LDFlags != "" {
		args = append(args, "-ldflags", b.LDFlags)
	}
	if b.Tags != "" {
		args = append(args, "-tags", b.Tags)
	}
	cmd := exec.Command("go", append(args, "-o", b.Out, "./dispatch")...)
	cmd.Dir = b.Dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b.Arch != "" {
		cmd.Env = append(cmd.Env, "GOARCH="+b.Arch, "GOARM=7")
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./dispatch (GOARCH=%s, tags %q): %v\n%s", b.Arch, b.Tags, err, out)
	}
	if b.KeepLines {
		return nil
	}
	_, err := linetab.StripFile(b.Out, b.Out)
	return err
}
