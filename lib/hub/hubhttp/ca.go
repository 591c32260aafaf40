package hubhttp

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"

	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
)

// DefaultCAPath is upstream's PV_LIBTHTTP_CERTSDIR: a directory of CA files.
const DefaultCAPath = "/certs"

// ErrNoCA is a CA path that holds no PEM certificate.
var ErrNoCA error = &sentinel.Error{Text: "hubhttp: no CA certificate found"}

// LoadCA reads the CA certificates at path: a PEM bundle file, or a
// directory whose *.crt and *.pem files are PEM bundles (other names and
// subdirectories are skipped). It fails if no certificate was found.
func LoadCA(path string) (*x509.CertPool, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, printf.Errorf("hubhttp: loading CA: %w", err)
	}
	files := []string{path}
	if fi.IsDir() {
		if files, err = caFiles(path); err != nil {
			return nil, printf.Errorf("hubhttp: loading CA: %w", err)
		}
	}
	pool := x509.NewCertPool()
	found := false
	for _, f := range files {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, printf.Errorf("hubhttp: loading CA: %w", err)
		}
		found = pool.AppendCertsFromPEM(pem) || found
	}
	if !found {
		return nil, printf.Errorf("%w in %s", ErrNoCA, path)
	}
	return pool, nil
}

// caFiles lists dir's *.crt and *.pem regular files (or links to them).
func caFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if !strings.HasSuffix(n, ".crt") && !strings.HasSuffix(n, ".pem") {
			continue
		}
		p := filepath.Join(dir, n)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			out = append(out, p)
		}
	}
	return out, nil
}
