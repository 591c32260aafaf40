package proto

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"

	"pantavisor/lib/config"
	"pantavisor/lib/persist"
	"pantavisor/lib/printf"
)

// Creds is the device identity kept in pantahub.config as creds.id,
// creds.prn and creds.secret. The zero Creds is an unregistered device.
type Creds struct {
	ID     string
	PRN    string
	Secret string
}

// Check refuses credentials that cannot be written as pantahub.config
// values: an id that fails CheckID, a prn or secret with control
// characters, surrounding space or over MaxCred bytes. Empty fields are
// allowed (unregistered, or unclaimed and cleared).
func (c Creds) Check() error {
	if c.ID != "" {
		if err := CheckID(c.ID); err != nil {
			return err
		}
	}
	if c.PRN != "" {
		if err := checkCred("prn", c.PRN); err != nil {
			return err
		}
	}
	if c.Secret != "" {
		if err := checkCred("secret", c.Secret); err != nil {
			return err
		}
	}
	return nil
}

// ReadCreds reads the credentials of a pantahub.config file with
// lib/config's key=value parser and key names (creds.id or PH_CREDS_ID,
// any case; the last line wins). Other keys are ignored.
func ReadCreds(r io.Reader) (Creds, error) {
	c := config.New()
	if _, err := c.Load(config.LevelPHConf, r); err != nil {
		return Creds{}, err
	}
	return Creds{
		ID:     c.Get(config.PHCredsID).String(),
		PRN:    c.Get(config.PHCredsPRN).String(),
		Secret: c.Get(config.PHCredsSecret).String(),
	}, nil
}

// ReadCredsFile is ReadCreds of the file at path; a missing file gives the
// zero Creds.
func ReadCredsFile(path string) (Creds, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Creds{}, nil
	}
	if err != nil {
		return Creds{}, printf.Errorf("reading credentials: %w", err)
	}
	defer f.Close()
	return ReadCreds(f)
}

// SetCreds returns the pantahub.config text old with its credential lines
// replaced: every line setting creds.id, creds.prn or creds.secret (by any
// name lib/config accepts) is dropped and "creds.id=…", "creds.prn=…",
// "creds.secret=…" are appended; every other line is kept as it was.
func SetCreds(old []byte, c Creds) ([]byte, error) {
	if err := c.Check(); err != nil {
		return nil, printf.Errorf("writing credentials: %w", err)
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(old))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		if !isCredLine(sc.Text()) {
			out.Write(sc.Bytes())
			out.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		return nil, printf.Errorf("reading credentials file: %w", err)
	}
	out.WriteString("creds.id=" + c.ID + "\ncreds.prn=" + c.PRN + "\ncreds.secret=" + c.Secret + "\n")
	return out.Bytes(), nil
}

// isCredLine reports whether a key=value line sets one of the Creds keys.
func isCredLine(line string) bool {
	k, _, ok := strings.Cut(line, "=")
	if !ok {
		return false
	}
	key, ok := config.ParseKey(strings.TrimSpace(k))
	return ok && (key == config.PHCredsID || key == config.PHCredsPRN || key == config.PHCredsSecret)
}

// WriteCredsFile stores c in the pantahub.config at path (created if
// missing), keeping its other lines (SetCreds). Steps, through
// persist.Writer.WriteFile: write path.tmp, fsync it, rename it over path,
// fsync the directory; a power cut leaves either the old or the new file.
func WriteCredsFile(w *persist.Writer, path string, c Creds) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return printf.Errorf("writing credentials: %w", err)
	}
	data, err := SetCreds(old, c)
	if err != nil {
		return err
	}
	if err := w.WriteFile(path, data, 0o600); err != nil {
		return printf.Errorf("writing credentials: %w", err)
	}
	return nil
}
