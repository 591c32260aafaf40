package disk

import (
	"bufio"
	"errors"
	"io"
	"os"
	"strings"

	"pantavisor/lib/printf"
)

// KeyHardwareFile lists the board's NXP key hardware, one name a line
// ("caam", "dcp"; "#" starts a comment); mkinitrd writes it from
// board.json's key_hardware. No file: no key hardware.
const KeyHardwareFile = "/etc/pantavisor/key-hardware"

// keyHardware maps the names of key hardware to their Options field.
var keyHardware = []struct {
	name string
	set  func(*Options)
}{
	{"caam", func(o *Options) { o.HasCAAM = true }},
	{"dcp", func(o *Options) { o.HasDCP = true }},
}

// SetKeyHardware records that the board has the key hardware name
// ("caam" or "dcp"); another name is an error.
func (o *Options) SetKeyHardware(name string) error {
	for _, k := range keyHardware {
		if k.name == name {
			k.set(o)
			return nil
		}
	}
	return printf.Errorf("unknown key hardware %q (want caam or dcp)", name)
}

// ReadKeyHardware sets HasCAAM and HasDCP from a KeyHardwareFile.
func (o *Options) ReadKeyHardware(r io.Reader) error {
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		if err := o.SetKeyHardware(line); err != nil {
			return printf.Errorf("line %d: %w", n, err)
		}
	}
	return sc.Err()
}

// LoadKeyHardware reads the KeyHardwareFile at path; a missing file is a
// board without key hardware.
func (o *Options) LoadKeyHardware(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return printf.Errorf("key hardware: %w", err)
	}
	defer f.Close()
	if err := o.ReadKeyHardware(f); err != nil {
		return printf.Errorf("key hardware %s: %w", path, err)
	}
	return nil
}
