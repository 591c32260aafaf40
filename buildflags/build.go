package buildflags

import (
	"fmt"
	"os"
	"os/exec"

	"pantavisor/linetab"
)

// Build is one `go build` of the device binary (./dispatch) as it ships:
// static, for Linux, with Args, then its file and line tables stripped
// (package linetab; tracebacks print "?:0" and `linetab symbolize` puts
// the positions back from a copy kept with KeepLines or Debug).
type Build struct {
	Dir     string // the module's root; "" is the current directory
	Arch    string // GOARCH; "" is the host's (arm builds GOARM=7)
	Tags    string // -tags; "" for none
	LDFlags string // -ldflags; "" for none
	Out     string // the binary to write
	// Debug, when set, keeps the binary as linked (line tables in) there;
	// not with KeepLines.
	Debug string
	// KeepLines ships the line tables: the size gate's per-package
	// figures read the symbol table of such a build.
	KeepLines bool
}

// Run builds, then strips the line tables unless KeepLines.
func (b Build) Run() error {
	args := append([]string{"build"}, Args()...)
	if b.LDFlags != "" {
		args = append(args, "-ldflags", b.LDFlags)
	}
	if b.Tags != "" {
		args = append(args, "-tags", b.Tags)
	}
	linked := b.Out
	if b.Debug != "" && !b.KeepLines {
		linked = b.Debug
	}
	cmd := exec.Command("go", append(args, "-o", linked, "./dispatch")...)
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
	_, err := linetab.StripFile(linked, b.Out)
	return err
}
