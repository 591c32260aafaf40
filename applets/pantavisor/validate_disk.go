package pantavisor

import (
	"strings"

	"pantavisor/lib/disk"
	"pantavisor/lib/printf"
	"pantavisor/lib/state"
)

// keyHardwareOptions are the disk options validate checks against: the
// --key-hardware list ("none", or names such as "caam,dcp"), else the
// board's disk.KeyHardwareFile (absent on a host: no key hardware, as
// the qemu boards).
func keyHardwareOptions(list string) (disk.Options, error) {
	var o disk.Options
	switch list {
	case "":
		return o, o.LoadKeyHardware(disk.KeyHardwareFile)
	case "none":
		return o, nil
	}
	for _, name := range strings.Split(list, ",") {
		if err := o.SetKeyHardware(strings.TrimSpace(name)); err != nil {
			return o, printf.Errorf("--key-hardware: %w", err)
		}
	}
	return o, nil
}

// diskLines are the summary's disk lines (disk.Plan), one per disk:
//
//	disk NAME: type=TYPE provision=P volumes=C/V,...|none setup=ok
//	disk NAME: type=TYPE provision=P volumes=... setup=refused reason=REASON
//	disk NAME: warning: TEXT
func diskLines(st *state.State, o disk.Options) string {
	var b strings.Builder
	for _, u := range disk.Plan(st, o) {
		vols := "none"
		if len(u.Volumes) > 0 {
			ws := make([]string, len(u.Volumes))
			for i, v := range u.Volumes {
				ws[i] = word(v)
			}
			vols = strings.Join(ws, ",")
		}
		printf.Fprintf(&b, "disk %s: type=%s provision=%s volumes=%s ", word(u.Disk.Name), word(u.Disk.Type),
			word(u.Disk.Provision), vols)
		if u.Err != nil {
			printf.Fprintf(&b, "setup=refused reason=%s\n", word(oneLine(u.Err.Error())))
		} else {
			b.WriteString("setup=ok\n")
		}
		for _, w := range u.Warnings {
			printf.Fprintf(&b, "disk %s: warning: %s\n", word(u.Disk.Name), oneLine(w))
		}
	}
	return b.String()
}
