package image

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Package is a pvr package directory being assembled: the state in "json"
// and every object as objects/<sha256>, which is what `pantavisor install`
// takes. The zero value is not usable; call NewPackage.
type Package struct {
	dir   string
	state map[string]any
}

// NewPackage starts a package in dir (created, must not exist yet) with
// the pantavisor-service-system@1 spec key.
func NewPackage(dir string) (*Package, error) {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.Mkdir(filepath.Join(dir, "objects"), 0o755); err != nil {
		return nil, err
	}
	return &Package{dir: dir, state: map[string]any{"#spec": "pantavisor-service-system@1"}}, nil
}

// AddFile makes the file at path the object of key: it is hard-linked
// (or copied across filesystems) to objects/<sha256>.
func (p *Package) AddFile(key, path string) error {
	sum, err := hashFile(path)
	if err != nil {
		return err
	}
	dst := filepath.Join(p.dir, "objects", sum)
	if _, err := os.Stat(dst); err != nil {
		if err := os.Link(path, dst); err != nil {
			if err := copyFileStream(path, dst); err != nil {
				return fmt.Errorf("object %s: %w", key, err)
			}
		}
	}
	return p.set(key, sum)
}

// AddBytes makes data the object of key.
func (p *Package) AddBytes(key string, data []byte) error {
	sum := sha256.Sum256(data)
	hexSum := hex.EncodeToString(sum[:])
	if err := os.WriteFile(filepath.Join(p.dir, "objects", hexSum), data, 0o644); err != nil {
		return err
	}
	return p.set(key, hexSum)
}

// AddJSON puts v inline in the state under key (a run.json, device.json).
func (p *Package) AddJSON(key string, v any) error { return p.set(key, v) }

func (p *Package) set(key string, v any) error {
	if _, dup := p.state[key]; dup {
		return fmt.Errorf("package: key %s added twice", key)
	}
	p.state[key] = v
	return nil
}

// State returns the state JSON as pvr writes it: keys sorted, two-space
// indent, no HTML escaping.
func (p *Package) State() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p.state); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Write writes the state to <dir>/json, signed with the signing
// directory signing unless it is "" (SignState); the package is then
// complete.
func (p *Package) Write(signing string) error {
	data, err := p.State()
	if err != nil {
		return err
	}
	if signing != "" {
		if data, err = SignState(data, signing); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(p.dir, "json"), data, 0o644)
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hashing %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// linkOrCopy hard-links src at dst, or copies it where a link cannot be
// made (another filesystem).
func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	return copyFileStream(src, dst)
}

func copyFileStream(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}
