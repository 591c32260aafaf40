package pvctl

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"io"
	"os"
	"strings"

	"pantavisor/lib/digest"
	"pantavisor/lib/printf"
	"pantavisor/lib/pvrpkg"
	"pantavisor/lib/rawjson"
	"pantavisor/lib/sentinel"
)

// errBadPackage is why a file is not a package steps install accepts.
var errBadPackage error = &sentinel.Error{Text: "wrong contents of compressed step"}

// install uploads a pvr package (.tgz) as a local step, like upstream's
// install_step. Steps:
//  1. the name must end in .tgz, else "ERROR: unkwnown file format" [sic];
//  2. scan the package: gzip with a json and objects, else "ERROR: wrong
//     contents of compressed step"; hash the file for the default name
//     locals/<sha256 of the file>;
//  3. GET /objects, and PUT each object the device does not list, streamed
//     from a second read of the package (constant memory for any size);
//  4. GET /steps, and PUT the json unless the revision is listed, then
//     -m's commit message if given;
//  5. print {"revision":"<rev>"}.
//
// DEVIATION from upstream: upstream ignores the replies of its uploads
// and always exits 0. Here the first request that fails stops the
// install; its reply's body goes to stderr and the exit code is mapped as
// for any command (48 disk full, 60 bad checksum, 75 busy, 255 otherwise).
func (c *ctl) install(path, rev string) int {
	if !strings.HasSuffix(path, ".tgz") {
		printf.Fprintln(c.stdout, "ERROR: unkwnown file format")
		return exitUsage
	}
	pkg, sum, err := scanPackage(path)
	if err != nil {
		printf.Fprintln(c.stdout, "ERROR: wrong contents of compressed step")
		printf.Fprintf(c.stderr, "%s: %v\n", c.opts.name, err)
		return exitUsage
	}
	if rev == "" {
		rev = "locals/" + sum
	}
	if err := c.uploadObjects(path, pkg); err != nil {
		return c.fail(err)
	}
	if err := c.uploadStep(rev, pkg.State); err != nil {
		return c.fail(err)
	}
	printf.Fprintf(c.stdout, "{\"revision\":%s}\n", rawjson.Quote(rev))
	return exitOK
}

// scanPackage reads the package at path once: its state json, its
// objects and sizes, and the sha256 of the whole file in hex. Like
// upstream's tar zxf it must be gzip-compressed, and like upstream's check
// it must hold a json and objects.
func scanPackage(path string) (*pvrpkg.Contents, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	h := digest.New()
	br := bufio.NewReader(io.TeeReader(f, h))
	if head, _ := br.Peek(2); len(head) < 2 || head[0] != 0x1f || head[1] != 0x8b {
		return nil, "", printf.Errorf("%s: not gzip-compressed: %w", path, errBadPackage)
	}
	pkg, err := pvrpkg.Scan(br)
	if err != nil {
		return nil, "", printf.Errorf("%s: %w", path, err)
	}
	if len(pkg.Objects) == 0 {
		return nil, "", printf.Errorf("%s: no objects: %w", path, errBadPackage)
	}
	if _, err := io.Copy(h, f); err != nil { // what the scan left unread
		return nil, "", printf.Errorf("reading %s: %w", path, err)
	}
	return pkg, hex.EncodeToString(h.Sum(nil)), nil
}

// uploadObjects PUTs each object of the package that GET /objects does not
// list (a substring match, as upstream), in archive order.
func (c *ctl) uploadObjects(path string, pkg *pvrpkg.Contents) error {
	list, err := check(c.do("GET", "/objects", "", nil, 0, requestTimeout))
	if err != nil {
		return err
	}
	missing := make(map[string]bool)
	var total int64
	for sha, size := range pkg.Objects {
		if !bytes.Contains(list, []byte(sha)) {
			missing[sha] = true
			total += size
		}
	}
	if len(missing) == 0 {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	p := &progress{w: c.stderr, tty: c.tty, objects: len(missing), total: total, now: c.now}
	p.begin()
	var putErr error // the failed upload, unwrapped by Walk
	err = pvrpkg.Walk(f, func(e pvrpkg.Entry, body io.Reader) error {
		if !missing[e.SHA] {
			return nil
		}
		p.object(e.SHA, e.Size)
		_, putErr = check(c.do("PUT", "/objects/"+e.SHA, ctypeOcts, &progressReader{body, p}, e.Size, objectTimeout))
		return putErr
	})
	p.end()
	if putErr != nil {
		return putErr
	}
	return err
}

// uploadStep PUTs the state json as step rev unless GET /steps lists it,
// then -m's commit message.
func (c *ctl) uploadStep(rev string, state []byte) error {
	list, err := check(c.do("GET", "/steps", "", nil, 0, requestTimeout))
	if err != nil {
		return err
	}
	if bytes.Contains(list, []byte(`"name":`+rawjson.Quote(rev))) {
		return nil
	}
	_, err = check(c.do("PUT", "/steps/"+escape(rev), "", bytes.NewReader(state), int64(len(state)), requestTimeout))
	if err != nil || c.opts.message == "" {
		return err
	}
	_, err = check(c.commitMsg(rev))
	return err
}
