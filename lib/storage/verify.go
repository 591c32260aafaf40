package storage

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"

	"pantavisor/lib/printf"
	"pantavisor/lib/rawjson"
	"pantavisor/lib/state"
)

// VerifyReport says what Verify found and repaired.
type VerifyReport struct {
	Objects  int      // object keys checked
	Hashed   int      // distinct objects whose content was hashed
	Skipped  int      // object keys not hashed (upstream skip list)
	Cured    []string // keys whose missing trail link was re-created
	Measured int      // distinct objects checked by fs-verity digest, not hashed
	Sealed   int      // hashed objects that got fs-verity and a record now
	// Verity is why fs-verity was not used for an object (the first such
	// error, fsverity.ErrUnsupported on storage without it); nil when it
	// was used for every object. It is not a failure: those are hashed.
	Verity error
}

// verifySkip lists objects upstream does not hash at boot: the running
// pantavisor and kernel (already loaded by the bootloader) and the FIT
// source. Data devices of dm-verity volumes are added per state.
var verifySkip = [...]string{"bsp/pantavisor", "bsp/kernel.img", "bsp/fit-image.its"}

// Verify checks the integrity of an installed revision as upstream does at
// boot: every object key is a hard link to its object (a missing link is
// re-created, "cured"), the content hashes to the key's sha256 (except the
// skip list), and every inline json file equals the state's raw value.
// Each distinct object is checked once, however many keys share it: by
// its fs-verity digest when it has one and a record, else by hashing it
// (and then sealing it with fs-verity; see verity.go).
func (s *Storage) Verify(rev string) (VerifyReport, error) {
	data, err := s.StateJSON(rev)
	if err != nil {
		return VerifyReport{}, err
	}
	st, err := state.Parse(data, state.Options{})
	if err != nil {
		return VerifyReport{}, printf.Errorf("verifying %s: %w", rev, err)
	}
	return s.VerifyState(rev, st)
}

// VerifyState is Verify for a caller that already parsed rev's state
// (st must be the state of trails/<rev>/.pvr/json). Links are checked
// (and cured) in state order first; then the distinct objects are checked
// (checkContent) by up to verifyWorkers goroutines, as hashing is
// CPU-bound and devices have several cores. The error reported is that of the first failing
// object in state order, whatever order the hashes finished in.
func (s *Storage) VerifyState(rev string, st *state.State) (VerifyReport, error) {
	var rep VerifyReport
	skip := verityDataDevices(st)
	trail := s.TrailPath(rev)
	var todo []state.Object
	queued := map[string]bool{}
	for _, o := range st.Objects {
		rep.Objects++
		cured, err := s.checkLink(trail, o)
		if err != nil {
			return rep, printf.Errorf("verifying %s: %s: %w", rev, o.Name, err)
		}
		if cured {
			rep.Cured = append(rep.Cured, o.Name)
		}
		if skipHash(o.Name, skip) {
			rep.Skipped++
			continue
		}
		// A .bind key is a copy, not a link: each copy is hashed.
		if queued[o.SHA] && !strings.HasSuffix(o.Name, ".bind") {
			continue
		}
		queued[o.SHA] = true
		todo = append(todo, o)
	}
	checks := make([]objectCheck, len(todo))
	parallel(len(todo), verifyWorkers(), func(i int) {
		o := todo[i]
		checks[i] = s.checkContent(filepath.Join(trail, o.Name), o.SHA, strings.HasSuffix(o.Name, ".bind"))
	})
	for i, c := range checks {
		if c.err != nil {
			return rep, printf.Errorf("verifying %s: %s: %w", rev, todo[i].Name, c.err)
		}
		rep.add(c)
	}
	for _, j := range st.JSONs {
		got, err := os.ReadFile(filepath.Join(trail, j.Name))
		if err != nil {
			return rep, printf.Errorf("verifying %s: %w", rev, err)
		}
		if !bytes.Equal(got, j.Raw) {
			return rep, printf.Errorf("verifying %s: %s: %w: file differs from the state", rev, j.Name, ErrHash)
		}
	}
	return rep, nil
}

func (r *VerifyReport) add(c objectCheck) {
	switch {
	case c.measured:
		r.Measured++
	case c.sealed:
		r.Hashed++
		r.Sealed++
	default:
		r.Hashed++
	}
	if r.Verity == nil {
		r.Verity = c.verityErr
	}
}

// verifyWorkers is how many objects VerifyState hashes at once: one per
// CPU, at most 4 (each holds a hashBufSize buffer).
func verifyWorkers() int {
	return min(runtime.NumCPU(), 4)
}

// parallel calls f(0) … f(n-1) on up to workers goroutines and returns
// when all calls have.
func parallel(n, workers int, f func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(workers, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// checkLink makes sure the trail file of o is its object (same inode),
// re-linking it when missing. ".bind" objects are copies, checked by hash.
func (s *Storage) checkLink(trail string, o state.Object) (cured bool, err error) {
	p := filepath.Join(trail, o.Name)
	fi, err := os.Lstat(p)
	if os.IsNotExist(err) {
		if strings.HasSuffix(o.Name, ".bind") {
			return false, printf.Errorf("%w: copy missing", ErrMissingObject)
		}
		if err := s.W.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return false, err
		}
		if err := s.W.Link(s.ObjectPath(o.SHA), p); err != nil {
			return false, printf.Errorf("%w: cannot re-link: %v", ErrMissingObject, err)
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
		return false, printf.Errorf("%w: %v", ErrMissingObject, err)
	}
	if !os.SameFile(fi, obj) {
		return false, printf.Errorf("%w: not a link to objects/%s", ErrHash, o.SHA)
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
