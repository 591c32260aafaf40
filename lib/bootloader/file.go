package bootloader

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"pantavisor/lib/persist"
	"pantavisor/lib/printf"
)

// entry is one variable, in file order.
type entry struct{ key, value string }

// fileEnv is an Env kept in one file of BlockSize bytes.
type fileEnv struct {
	path    string
	codec   codec
	inPlace bool // rewrite the existing blocks (GRUB, U-Boot); else replace by rename
	w       *persist.Writer
	vars    []entry
}

// Get returns the staged value of key.
func (e *fileEnv) Get(key string) (string, bool) {
	if i := find(e.vars, key); i >= 0 {
		return e.vars[i].value, true
	}
	return "", false
}

// Set stages key=value. It fails with ErrInvalid for what the format
// cannot hold and with ErrTooBig when the env would no longer fit.
func (e *fileEnv) Set(key, value string) error {
	if err := e.codec.check(key, value); err != nil {
		return err
	}
	next := setVar(append([]entry(nil), e.vars...), key, value)
	if _, err := e.codec.encode(next); err != nil {
		return printf.Errorf("setting %s in %s: %w", key, e.path, err)
	}
	e.vars = next
	return nil
}

// Unset stages the removal of key (absent keys are fine).
func (e *fileEnv) Unset(key string) error {
	if i := find(e.vars, key); i >= 0 {
		e.vars = append(e.vars[:i], e.vars[i+1:]...)
	}
	return nil
}

// Commit writes the staged env durably: in place for GRUB and U-Boot
// files of the right size, else by atomic replacement (see package doc).
func (e *fileEnv) Commit() error {
	data, err := e.codec.encode(e.vars)
	if err != nil {
		return printf.Errorf("writing %s: %w", e.path, err)
	}
	if e.inPlace {
		done, err := e.overwrite(data)
		if done || err != nil {
			return err
		}
	}
	if err := e.w.MkdirAll(filepath.Dir(e.path), 0o755); err != nil {
		return printf.Errorf("writing %s: %w", e.path, err)
	}
	return e.w.WriteFile(e.path, data, 0o644)
}

// overwrite writes data over the existing blocks of the file (pwrite at
// offset 0, fsync), as GRUB's save_env and upstream's uboot.c do. It
// reports false, and writes nothing, when the file is missing or not
// exactly len(data) bytes long.
func (e *fileEnv) overwrite(data []byte) (bool, error) {
	f, err := os.OpenFile(e.path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, printf.Errorf("writing bootloader env: %w", err)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != int64(len(data)) {
		f.Close()
		return false, nil
	}
	e.w.Point("pwrite " + e.path)
	if _, err := f.WriteAt(data, 0); err != nil {
		f.Close()
		return false, printf.Errorf("writing %s: %w", e.path, err)
	}
	return true, e.w.SyncClose(f)
}

// find returns the index of key in vars, -1 if absent.
func find(vars []entry, key string) int {
	for i := range vars {
		if vars[i].key == key {
			return i
		}
	}
	return -1
}

// setVar sets key in place, or appends it.
func setVar(vars []entry, key, value string) []entry {
	if i := find(vars, key); i >= 0 {
		vars[i].value = value
		return vars
	}
	return append(vars, entry{key, value})
}
