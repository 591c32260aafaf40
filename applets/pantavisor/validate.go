package pantavisor

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"pantavisor/lib/cli"
	"pantavisor/lib/disk"
	"pantavisor/lib/drivers"
	"pantavisor/lib/ipam"
	"pantavisor/lib/lxcconf"
	"pantavisor/lib/printf"
	"pantavisor/lib/pvrpkg"
	"pantavisor/lib/pvs"
	"pantavisor/lib/sentinel"
	"pantavisor/lib/state"
	"pantavisor/lib/storage"
)

// validateUsage is the help of "pantavisor validate"; README.md documents
// the same format.
const validateUsage = `Usage: pantavisor validate [--trust DIR] [--secureboot MODE] [--at TIME] [--oem NAME] [--key-hardware LIST] FILE|DIR|PKG.tgz|PKG.tar

Parses and validates a Pantavisor state: a state JSON file, a directory
(an unpacked pvr package with json and objects/, or a trail with .pvr/json,
whose objects are also looked up in the storage's objects/ when the trail
is a storage's trails/REV or trails/locals/NAME), or a pvr package tarball (gzip or plain tar). Prints a summary on stdout,
one "key: value" fact per line in this order:

  spec: pantavisor-service-system@1
  bsp: linux=K initrd=I fdt=F modules=M firmware=W addons=N
       (or "bsp: fit=F ...", "bsp: rpiab=R ...", or "bsp: none")
  drivers: A1 A2 ...         the aliases of bsp/drivers.json ("all" section), or "none"
  groups: G1 G2 ...          start order; "(defaults)" ends the line when
                             the state has no device.json or groups.json
  group G: goal=GOAL policy=POLICY timeout=SECONDS   one per group
  pool P: type=bridge bridge=B subnet=CIDR gateway=IP nat=true|false
                             one per device.json network pool, in its
                             order (macvlan: parent=IF instead of bridge=)
  container C: group=G goal=GOAL policy=POLICY roles=mgmt|R1,R2|none
                             one per container, in state order, each
                             followed, when its run.json has a network, by
  network C: mode=host|pool|none hostname=H
  iface C/IF: pool=P addr=CIDR|auto mac=MAC|auto   one per interface in
                             pool mode; auto: given at start (a dynamic
                             address depends on the start order)
                             and, when it names driver aliases, by
  container C drivers: required=A,B optional=C manual=-
  objects: N keys, U unique
  missing objects: N         only for packages and directories, then one
  missing: KEY SHA           line per object whose file is not there
  warning: TEXT              one per problem upstream tolerates, then (packages
                             and directories) one per LXC config line the
                             launcher does not take as written:
                             FILE:LINE: KEY: REASON, FILE the state key
  disk D: type=T provision=P volumes=C/V,...|none setup=ok|refused [reason=R]
                             one per device.json disk (and per disk a volume
                             names that device.json lacks), with the volumes
                             on it (bsp/V for device.json's) and whether the
                             device would refuse to set it up on a board with
                             the --key-hardware LIST (caam,dcp or none;
                             default: this board's, none on a host), then
  disk D: warning: TEXT      one per option it would not honour

With --trust or --secureboot, the pvs@2 signatures are checked as the
device does (lib/pvs) against DIR's ca-certificates.crt,
ca-oem-certificates.crt and pub.pem, and these lines follow:

  signature NAME: ok ALG keys=N chain=CN,CN...   one per signature, or
  signature NAME: REASON                          when it fails
  uncovered: KEY             audit and strict: a key no signature covers
  secureboot: MODE ok|refused

Certificate dates are checked as of --at (RFC 3339), else now.

An empty value prints as "-"; a value with spaces, quotes, '=', ':', ','
or unprintable characters prints Go-quoted.

Errors go to stderr as "ERROR: KEY: REASON" for an invalid state, else
"ERROR: PATH: CAUSE". A bad pool, a container on an unknown pool, a static
address outside its pool or taken, a full pool and (packages and
directories) a pool container whose LXC config sets lxc.net.* make the
state invalid, as they stop the container on a device (lib/ipam Check).

Exit codes: 0 valid; 1 invalid state, unreadable input, missing objects or
signatures the mode refuses (the summary is printed first); 2 usage error.
`

var errMissing error = &sentinel.Error{Text: "objects missing"}

// input is a state to validate and, for packages and directories, how to
// tell whether an object's blob is there (nil for a bare state file).
type input struct {
	state []byte
	has   func(state.Object) (bool, error)
	read  func(state.Object) ([]byte, error) // an object's bytes (LXC configs); nil for a bare state file
}

// validateMain runs "pantavisor validate"; args[0] is "validate".
func validateMain(args []string, stdout, stderr io.Writer) int {
	set := cli.NewFlags("pantavisor "+args[0], validateUsage, stdout, stderr)
	var sb sigOptions
	set.StringVar(&sb.trust, "trust", "", "check signatures against the trust store in `DIR`")
	set.StringVar(&sb.mode, "secureboot", "", "secure-boot `MODE`: disabled, audit, lenient (default) or strict")
	set.StringVar(&sb.at, "at", "", "check certificate dates as of `TIME` (RFC 3339) instead of now")
	set.StringVar(&sb.oem, "oem", "", "`NAME`: the device's PV_OEM_NAME, for OEM signatures")
	keyHW := set.String("key-hardware", "", "the board's NXP key hardware `LIST` (caam,dcp or none) for the disk lines; default: this board's")
	if code, done := set.Parse(args[1:]); done {
		return code
	}
	if set.NArg() != 1 {
		return set.UsageError("")
	}
	opts, err := sb.options()
	if err != nil {
		return set.UsageError(err.Error())
	}
	dopts, err := keyHardwareOptions(*keyHW)
	if err != nil {
		return set.UsageError(err.Error())
	}
	path := set.Arg(0)
	err = validate(path, opts, dopts, stdout)
	var se *state.Error
	switch {
	case err == nil:
		return 0
	case errors.As(err, &se):
		printf.Fprintf(stderr, "ERROR: %s: %s\n", oneLine(se.Key), oneLine(se.Reason))
	default:
		printf.Fprintf(stderr, "ERROR: %s: %s\n", oneLine(path), oneLine(err.Error()))
	}
	return 1
}

// validate loads the input at path, parses its state, prints the summary
// (and the signature lines when sig is not nil) and fails when objects are
// missing or the secure-boot mode refuses the state.
func validate(path string, sig *pvs.Options, dopts disk.Options, stdout io.Writer) error {
	in, err := load(path)
	if err != nil {
		return err
	}
	st, err := state.Read(bytes.NewReader(in.state), state.Options{})
	if err != nil {
		return err
	}
	var missing []state.Object
	if in.has != nil {
		if missing, err = pvrpkg.Missing(st.Objects, in.has); err != nil {
			return err
		}
	}
	var cfgs map[string]*lxcconf.Config
	st.Warnings = append(st.Warnings, drivers.Check(st)...)
	if in.read != nil {
		var warns []string
		warns, cfgs = lxcWarnings(st, in.read)
		st.Warnings = append(st.Warnings, warns...)
	}
	reg, err := ipam.Check(st, cfgs)
	if err != nil {
		return err
	}
	printf.Fprint(stdout, summary(st, reg, in.has != nil, missing))
	printf.Fprint(stdout, diskLines(st, dopts))
	var sigErr error
	if sig != nil {
		sigErr = checkSignatures(in.state, *sig, stdout)
	}
	if len(missing) > 0 {
		return printf.Errorf("%d of %d %w", len(missing), len(st.Objects), errMissing)
	}
	return sigErr
}

// load reads a directory, a package tarball or a state file.
func load(path string) (input, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return input{}, withoutPath(err)
	}
	if fi.IsDir() {
		d, err := storage.ReadDir(path)
		if err != nil {
			return input{}, err
		}
		data, err := d.State()
		return input{state: data, has: d.Has, read: dirReader(d)}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return input{}, withoutPath(err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 4096)
	if head, _ := br.Peek(512); !pvrpkg.IsPackage(head) {
		data, err := io.ReadAll(io.LimitReader(br, state.MaxSize+1))
		return input{state: data}, err
	}
	c, err := pvrpkg.Scan(br)
	if err != nil {
		return input{}, err
	}
	return input{state: c.State, has: c.Has, read: packageReader(path)}, nil
}

// withoutPath drops the path of a *fs.PathError: the ERROR line names it.
func withoutPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return printf.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// summary renders the documented validate output.
func summary(st *state.State, reg *ipam.Registry, withObjects bool, missing []state.Object) string {
	var b strings.Builder
	printf.Fprintf(&b, "spec: %s\n", word(st.Spec))
	printf.Fprintf(&b, "bsp: %s\n", bspFacts(st.BSP))
	printf.Fprintf(&b, "drivers: %s\n", aliases(st))
	b.WriteString("groups:")
	for _, g := range st.Device.Groups {
		b.WriteString(" " + word(g.Name))
	}
	if st.Device.DefaultGroups {
		b.WriteString(" (defaults)")
	}
	b.WriteString("\n")
	for _, g := range st.Device.Groups {
		printf.Fprintf(&b, "group %s: goal=%s policy=%s timeout=%d\n",
			word(g.Name), word(g.StatusGoal), word(g.RestartPolicy), g.Timeout)
	}
	poolLines(&b, reg.Pools())
	for _, c := range st.Containers {
		printf.Fprintf(&b, "container %s: group=%s goal=%s policy=%s roles=%s\n",
			word(c.Name), word(c.Group), word(c.StatusGoal), word(c.RestartPolicy), roles(c))
		networkLines(&b, c, reg.Leases(c.Name))
		if d := c.Drivers; len(d.Required)+len(d.Optional)+len(d.Manual) > 0 {
			printf.Fprintf(&b, "container %s drivers: required=%s optional=%s manual=%s\n",
				word(c.Name), words(d.Required), words(d.Optional), words(d.Manual))
		}
	}
	printf.Fprintf(&b, "objects: %d keys, %d unique\n", len(st.Objects), len(st.UniqueObjects()))
	if withObjects {
		printf.Fprintf(&b, "missing objects: %d\n", len(missing))
		for _, o := range missing {
			printf.Fprintf(&b, "missing: %s %s\n", word(o.Name), word(o.SHA))
		}
	}
	for _, w := range st.Warnings {
		printf.Fprintf(&b, "warning: %s\n", oneLine(w))
	}
	return b.String()
}

// bspFacts is the value of the "bsp:" line.
func bspFacts(b *state.BSP) string {
	if b == nil {
		return "none"
	}
	var boot string
	switch b.Boot() {
	case "fit":
		boot = "fit=" + word(b.FIT)
	case "rpiab":
		boot = "rpiab=" + word(b.RPiAB)
	default:
		boot = printf.Sprintf("linux=%s initrd=%s fdt=%s", word(b.Linux), word(b.Initrd), word(b.FDT))
	}
	return printf.Sprintf("%s modules=%s firmware=%s addons=%d", boot, word(b.Modules), word(b.Firmware), len(b.Addons))
}

// aliases is the value of the "drivers:" line: the state's driver
// aliases in file order, or "none".
func aliases(st *state.State) string {
	as := drivers.Resolve(st.Drivers)
	if len(as) == 0 {
		return "none"
	}
	ws := make([]string, len(as))
	for i, a := range as {
		ws[i] = word(a.Name)
	}
	return strings.Join(ws, " ")
}

// words is ws comma-joined, each a word, or "-" when empty.
func words(ws []string) string {
	if len(ws) == 0 {
		return "-"
	}
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = word(w)
	}
	return strings.Join(out, ",")
}

// roles is "mgmt" for a management container, else its roles or "none".
func roles(c *state.Container) string {
	switch {
	case c.Mgmt:
		return "mgmt"
	case len(c.Roles) == 0:
		return "none"
	}
	ws := make([]string, len(c.Roles))
	for i, r := range c.Roles {
		ws[i] = word(r)
	}
	return strings.Join(ws, ",")
}

// word prints s as one token of a summary line: "-" when empty, Go-quoted
// when it could be mistaken for a separator or is not printable.
func word(s string) string {
	if s == "" {
		return "-"
	}
	if s == "-" || !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if r <= ' ' || strings.ContainsRune("\"\\=:,", r) || !strconv.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// oneLine escapes control characters so free text stays on its line.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isControl(r rune) bool { return r < ' ' || r == 0x7f }
