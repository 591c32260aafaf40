package pvtx

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"pantavisor/lib/printf"
	"pantavisor/lib/pvrpkg"
	"pantavisor/lib/rawjson"
	"pantavisor/lib/state"
)

// bspLinks maps the bsp/run.json members whose files get a .pv/ hard link
// to the link names, in upstream's table order ("ftd" as upstream spells
// it).
var bspLinks = [...][2]string{
	{"fit", "pantavisor.fit"},
	{"pantavisor", "pv-initrd.img"},
	{"initrd", "pv-initrd.img"},
	{"kernel", "pv-kernel.img"},
	{"linux", "pv-kernel.img"},
	{"ftd", "pv-ftd.img"},
}

// Deploy writes the state of a local transaction to dir as a revision
// checkout and marks the transaction deployed. Steps:
//  1. check the state's signatures under t.Secureboot: a refused state
//     (an error wrapping ErrSecureboot) writes nothing;
//  2. build a sibling temporary directory: .pvr/json; .pvr/config (dir's,
//     or {"ObjectsDir": objdir}); each key whose value is a sha256 hard
//     linked from the objects directory, every other value written as a
//     file; .pv/ hard links to the boot files named by bsp/run.json;
//  3. syncfs, so the new tree is on disk before it replaces the old;
//  4. rename dir to dir.bak, the temporary directory to dir, and remove
//     dir.bak.
//
// Any failure before the swap removes the temporary directory and leaves
// dir untouched. State keys and bsp/run.json file names that are not
// clean relative paths are refused (upstream writes wherever they point).
//
// Deviations: dir may be absent (it is created); an existing dir.bak
// stops the deploy, since after a crash mid-swap it is the only copy; a
// .pv/ link whose bsp file is missing is skipped silently (upstream warns
// on stdout); string values are written unescaped.
func (t *Txn) Deploy(dir string) error {
	s, err := t.active()
	if err != nil {
		return err
	}
	if !s.Local {
		return ErrRemote
	}
	data, err := os.ReadFile(t.path(currentFile))
	if err != nil {
		return err
	}
	st, err := ParseState(data)
	if err != nil {
		return err
	}
	if err := t.secureboot(data); err != nil {
		return err
	}
	dir = filepath.Clean(dir)
	bak := dir + ".bak"
	if _, err := os.Lstat(bak); err == nil {
		return printf.Errorf("%s exists (left by an interrupted deploy?): restore or remove it first", bak)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+".tmp")
	if err != nil {
		return printf.Errorf("creating the temporary directory: %w", err)
	}
	if err := build(tmp, dir, s.Objects, data, st); err != nil {
		os.RemoveAll(tmp)
		return printf.Errorf("building %s: %w", tmp, err)
	}
	if err := t.swap(tmp, dir, bak); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	s.State = StateDeployed
	return t.save(s)
}

// build fills tmp with the revision checkout of state st (raw bytes data).
func build(tmp, dir, objdir string, data []byte, st *State) error {
	pvr := filepath.Join(tmp, ".pvr")
	if err := os.MkdirAll(pvr, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(pvr, "json"), data, 0o644); err != nil {
		return err
	}
	conf, err := os.ReadFile(filepath.Join(dir, pvrpkg.TrailConfigFile))
	if errors.Is(err, fs.ErrNotExist) {
		conf, err = []byte(`{"ObjectsDir": `+rawjson.Quote(objdir)+`}`), nil
	}
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(pvr, "config"), conf, 0o644); err != nil {
		return err
	}
	for _, m := range st.members {
		if err := writeKey(tmp, objdir, m); err != nil {
			return err
		}
	}
	return linkBoot(tmp)
}

// writeKey writes one state member into the checkout at tmp.
func writeKey(tmp, objdir string, m rawjson.Member) error {
	if err := checkKey(m.Key); err != nil {
		return err
	}
	dst := filepath.Join(tmp, m.Key)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	v := m.Value
	switch {
	case v.Kind == rawjson.String && state.IsSHA256(v.Str):
		if err := os.Link(filepath.Join(objdir, v.Str), dst); err != nil {
			return printf.Errorf("object of %s: %w", m.Key, err)
		}
		return nil
	case v.Kind == rawjson.String:
		return os.WriteFile(dst, []byte(v.Str), 0o644)
	}
	return os.WriteFile(dst, v.Raw, 0o644)
}

// linkBoot creates .pv/ and hard-links the boot files bsp/run.json names.
func linkBoot(tmp string) error {
	pv := filepath.Join(tmp, ".pv")
	if err := os.MkdirAll(pv, 0o755); err != nil {
		return err
	}
	data, err := os.ReadFile(filepath.Join(tmp, "bsp", "run.json"))
	if err != nil {
		return nil // no bsp in this state
	}
	run, err := rawjson.Parse(data)
	if err != nil {
		return printf.Errorf("bsp/run.json: %w", err)
	}
	for _, m := range run.Members {
		for _, l := range bspLinks {
			if m.Key != l[0] || m.Value.Kind != rawjson.String {
				continue
			}
			if err := checkKey("bsp/" + m.Value.Str); err != nil {
				return printf.Errorf("bsp/run.json %s: %w", m.Key, err)
			}
			src := filepath.Join(tmp, "bsp", m.Value.Str)
			if _, err := os.Stat(src); err != nil {
				break
			}
			dst := filepath.Join(pv, l[1])
			os.Remove(dst)
			if err := os.Link(src, dst); err != nil {
				return err
			}
			break
		}
	}
	return nil
}

// swap makes tmp the new dir, keeping the old one as bak until done.
func (t *Txn) swap(tmp, dir, bak string) error {
	if err := syncfs(tmp); err != nil {
		return err
	}
	_, err := os.Lstat(dir)
	had := err == nil
	if had {
		if err := t.W.Rename(dir, bak); err != nil {
			return printf.Errorf("backing up %s: %w", dir, err)
		}
	}
	if err := t.W.Rename(tmp, dir); err != nil {
		err = printf.Errorf("swapping in %s: %w", dir, err)
		if had {
			if rerr := os.Rename(bak, dir); rerr != nil {
				err = errors.Join(err, printf.Errorf("restoring %s from %s: %w", dir, bak, rerr))
			}
		}
		return err
	}
	if had {
		return os.RemoveAll(bak)
	}
	return nil
}

func syncfs(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return printf.Errorf("syncfs %s: %w", dir, err)
	}
	return nil
}
