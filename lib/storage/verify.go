package storage

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"pantavisor/lib/rawjson"
	"pantavisor/lib/state"
)

// VerifyReport says what Verify found and repaired.
type VerifyReport struct {
	Objects int      // object keys checked
	Hashed  int      // distinct objects whose content was hashed
	Skipped int      // object keys not hashed (upstream skip list)
	Cured   []string // keys whose missing trail link was re-created
}

// verifySkip lists objects upstream does not hash at boot: the running
// pantavisor and kernel (already loaded by the bootloader) and the FIT
// source. Data devices of dm-verity volumes are added per state.
var verifySkip = [...]string{"bsp/pantavisor", "bsp/kernel.img", "bsp/fit-image.its"}

// Verify checks the integrity of an installed revision as upstream does at
// boot: every object key is a hard link to its object (a missing link is
// re-created, "cured"), the content hashes to the key's sha256 (except the
// skip list), and every inline json file equals the state's raw value.
// Each distinct object is hashed once, however many keys share it.
func (s *Storage) Verify(rev string) (VerifyReport, error) {
	data, err := s.StateJSON(rev)
	if err != nil {
		return VerifyReport{}, err
	}
	st, err := state.Parse(data, state.Options{})
	if err != nil {
		return VerifyReport{}, fmt.Errorf("verifying %s: %w", rev, err)
	}
	return s.VerifyState(rev, st)
}

// VerifyState is Verify for a caller that already parsed rev's state
// (st must be the state of trails/<rev>/.pvr/json).
func (s *Storage) VerifyState(rev string, st *state.State) (VerifyReport, error) {
	var rep VerifyReport
	skip := verityDataDevices(st)
	trail := s.TrailPath(rev)
	hashed := map[string]bool{}
	for _, o := range st.Objects {
		rep.Objects++
		cured, err := s.checkLink(trail, o)
		if err != nil {
			return rep, fmt.Errorf("verifying %s: %s: %w", rev, o.Name, err)
		}
		if cured {
			rep.Cured = append(rep.Cured, o.Name)
		}
		if skipHash(o.Name, skip) {
			rep.Skipped++
			continue
		}
		if hashed[o.SHA] && !strings.HasSuffix(o.Name, ".bind") {
			continue
		}
		got, err := HashFile(filepath.Join(trail, o.Name))
		if err != nil {
			return rep, fmt.Errorf("verifying %s: %w", rev, err)
		}
		if got != o.SHA {
			return rep, fmt.Errorf("verifying %s: %s: %w: want %s, got %s", rev, o.Name, ErrHash, o.SHA, got)
		}
		hashed[o.SHA] = true
		rep.Hashed++
	}
	for _, j := range st.JSONs {
		got, err := os.ReadFile(filepath.Join(trail, j.Name))
		if err != nil {
			return rep, fmt.Errorf("verifying %s: %w", rev, err)
		}
		if !bytes.Equal(got, j.Raw) {
			return rep, fmt.Errorf("verifying %s: %s: %w: file differs from the state", rev, j.Name, ErrHash)
		}
	}
	return rep, nil
}

// checkLink makes sure the trail file of o is its object (same inode),
// re-linking it when missing. ".bind" objects are copies, checked by hash.
func (s *Storage) checkLink(trail string, o state.Object) (cured bool, err error) {
	p := filepath.Join(trail, o.Name)
	fi, err := os.Lstat(p)
	if os.IsNotExist(err) {
		if strings.HasSuffix(o.Name, ".bind") {
			return false, fmt.Errorf("%w: copy missing", ErrMissingObject)
		}
		if err := s.W.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return false, err
		}
		if err := s.W.Link(s.ObjectPath(o.SHA), p); err != nil {
			return false, fmt.Errorf("%w: cannot re-link: %v", ErrMissingObject, err)
		}
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if strings.HasSuffix(o.Name, ".bind") {
		return false, nil
	}
	obj, err := os.Stat(s.ObjectPath(o.SHA))
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrMissingObject, err)
	}
	if !os.SameFile(fi, obj) {
		return false, fmt.Errorf("%w: not a link to objects/%s", ErrHash, o.SHA)
	}
	return false, nil
}

func skipHash(name string, verity map[string]bool) bool {
	for _, p := range verifySkip {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return verity[name]
}

// verityDataDevices lists the data devices of dm-verity volumes
// ("<c>/_dm/<vol>.json" with type dm-verity): dm-verity checks them.
func verityDataDevices(st *state.State) map[string]bool {
	out := map[string]bool{}
	for _, j := range st.JSONs {
		dir, _, ok := strings.Cut(j.Name, "/_dm/")
		if !ok {
			continue
		}
		v, err := rawjson.Parse(j.Raw)
		if err != nil {
			continue
		}
		t, _ := v.Get("type")
		d, _ := v.Get("data_device")
		if t.Str == "dm-verity" && d.Str != "" {
			out[dir+"/"+d.Str] = true
		}
	}
	return out
}

func linkCount(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 0
}
