package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/boards"
	"pantavisor/lib/ctrl"
	"pantavisor/mkinitrd/cpio"
)

// confTrust holds upstream's development trust stores.
const confTrust = "../testdata/conformance/pvs/trust"

// archive reads an xz initramfs back into its entries, by name.
func archive(t *testing.T, img []byte) map[string]cpio.Entry {
	t.Helper()
	es, err := cpio.Unpack(img, 64<<20)
	require.NoError(t, err)
	out := map[string]cpio.Entry{}
	for _, e := range es {
		out[e.Name] = e
	}
	return out
}

// pubPEM returns a fresh P-256 public key as PEM "PUBLIC KEY".
func pubPEM(t *testing.T) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// trustDir copies upstream's development stores into a new directory with
// unusual modes (the archive must not copy them), adds pub.pem and returns
// the directory and its files' bytes.
func trustDir(t *testing.T) (string, map[string][]byte) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "trust")
	require.NoError(t, os.Mkdir(dir, 0o700))
	files := map[string][]byte{"pub.pem": pubPEM(t)}
	for _, n := range []string{"ca-certificates.crt", "ca-oem-certificates.crt"} {
		data, err := os.ReadFile(filepath.Join(confTrust, n))
		require.NoError(t, err)
		files[n] = data
	}
	for n, data := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), data, 0o600))
	}
	return dir, files
}

func TestTrustPathIsTheDevices(t *testing.T) {
	assert.Equal(t, "etc/pantavisor/pvs/trust", trustPath)
	assert.Equal(t, ctrl.TrustDir, "/"+trustPath)
}

// TestTrustShipped: -trust DIR puts every file of DIR at
// etc/pantavisor/pvs/trust/ with its bytes, mode 0644, root-owned and
// dated 0, whatever the source's mode and mtime.
func TestTrustShipped(t *testing.T) {
	dir := t.TempDir()
	bin, applets := fakeInputs(t, dir)
	td, files := trustDir(t)
	img := mkinitrd(t, filepath.Join(dir, "initrd.img"), "-binary", bin, "-applets", applets, "-trust", td)
	es := archive(t, img)
	for n, data := range files {
		e, ok := es["etc/pantavisor/pvs/trust/"+n]
		require.True(t, ok, n)
		assert.Equal(t, data, e.Data, n)
		assert.Equal(t, uint32(cpio.TypeReg|0o644), e.Mode, "%s mode %o", n, e.Mode)
		assert.Zero(t, e.UID+e.GID+e.MTime, n)
	}
	for _, d := range []string{"etc/pantavisor/pvs", "etc/pantavisor/pvs/trust"} {
		assert.Equal(t, uint32(cpio.TypeDir|0o755), es[d].Mode, d)
	}
	n := 0
	for name := range es {
		if strings.HasPrefix(name, "etc/pantavisor/pvs/trust/") {
			n++
		}
	}
	assert.Equal(t, len(files), n, "nothing else under the trust directory")

	without := archive(t, mkinitrd(t, filepath.Join(dir, "none.img"), "-binary", bin, "-applets", applets))
	_, ok := without["etc/pantavisor/pvs/trust"]
	assert.False(t, ok, "no -trust and no board: no trust directory")
}

// TestTrustBuildTwiceSameBytes: new mtimes and modes on the trust files
// between two builds change no byte of the image.
func TestTrustBuildTwiceSameBytes(t *testing.T) {
	dir := t.TempDir()
	bin, applets := fakeInputs(t, dir)
	td, files := trustDir(t)
	args := []string{"-binary", bin, "-applets", applets, "-trust", td}
	a := mkinitrd(t, filepath.Join(dir, "a.img"), args...)
	later := time.Now().Add(time.Hour)
	for n := range files {
		require.NoError(t, os.Chtimes(filepath.Join(td, n), later, later))
		require.NoError(t, os.Chmod(filepath.Join(td, n), 0o664))
	}
	b := mkinitrd(t, filepath.Join(dir, "b.img"), args...)
	require.True(t, bytes.Equal(a, b), "two builds differ (%d and %d bytes)", len(a), len(b))
}

// TestTrustRejects: a trust directory the device could not load, or with
// files it would never read, fails the build with errTrust, an error
// naming the file, and no image.
func TestTrustRejects(t *testing.T) {
	dir := t.TempDir()
	bin, applets := fakeInputs(t, dir)
	ca, err := os.ReadFile(filepath.Join(confTrust, "ca-certificates.crt"))
	require.NoError(t, err)
	broken := bytes.Replace(ca, []byte("MII"), []byte("MIJ"), 1) // a DER length byte changed
	require.NotEqual(t, ca, broken)
	for _, tc := range []struct {
		name  string
		files map[string]string // "" content with a trailing "/": a directory
		want  string
	}{
		{"broken crt", map[string]string{"ca-certificates.crt": string(broken)}, "ca-certificates.crt: certificate 1"},
		{"not base64", map[string]string{"ca-certificates.crt": "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"}, "ca-certificates.crt"},
		{"empty crt", map[string]string{"ca-certificates.crt": ""}, "ca-certificates.crt: no PEM certificate"},
		{"bad oem crt", map[string]string{"ca-certificates.crt": string(ca), "ca-oem-certificates.crt": "junk"}, "ca-oem-certificates.crt: no PEM certificate"},
		{"bad pub.pem", map[string]string{"ca-certificates.crt": string(ca), "pub.pem": "junk"}, "pub.pem"},
		{"bad pub.pem alone", map[string]string{"pub.pem": "junk"}, "pub.pem"},
		{"other file", map[string]string{"ca-certificates.crt": string(ca), "ca.pem": string(ca)}, "ca.pem: not a trust file"},
		{"directory", map[string]string{"ca-certificates.crt": string(ca), "x.crt/": ""}, "x.crt: not a regular file"},
		{"empty dir", map[string]string{}, "no *.crt or pub.pem"},
		{"missing dir", nil, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			td := filepath.Join(t.TempDir(), "trust")
			if tc.files != nil {
				require.NoError(t, os.Mkdir(td, 0o755))
			}
			for n, body := range tc.files {
				if strings.HasSuffix(n, "/") {
					require.NoError(t, os.Mkdir(filepath.Join(td, n), 0o755))
					continue
				}
				require.NoError(t, os.WriteFile(filepath.Join(td, n), []byte(body), 0o644))
			}
			out := filepath.Join(dir, "out.img")
			err := run([]string{"-binary", bin, "-applets", applets, "-trust", td, "-o", out}, &bytes.Buffer{})
			require.ErrorIs(t, err, errTrust)
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "trust store: "), err.Error())
			_, err = os.Stat(out)
			assert.ErrorIs(t, err, os.ErrNotExist)
		})
	}
}

// TestTrustPubAlone: a directory with only pub.pem ships, with a note
// that ca-certificates.crt is missing.
func TestTrustPubAlone(t *testing.T) {
	dir := t.TempDir()
	bin, applets := fakeInputs(t, dir)
	td := filepath.Join(dir, "trust")
	require.NoError(t, os.Mkdir(td, 0o755))
	pub := pubPEM(t)
	require.NoError(t, os.WriteFile(filepath.Join(td, "pub.pem"), pub, 0o644))
	var stderr bytes.Buffer
	out := filepath.Join(dir, "out.img")
	require.NoError(t, run([]string{"-binary", bin, "-applets", applets, "-trust", td, "-o", out}, &stderr))
	assert.Contains(t, stderr.String(), "has no ca-certificates.crt")
	img, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, pub, archive(t, img)["etc/pantavisor/pvs/trust/pub.pem"].Data)
}

// TestTrustExpiryNote: a certificate already expired is shipped with a
// note (the device's clock rule decides what it means).
func TestTrustExpiryNote(t *testing.T) {
	td, _ := trustDir(t)
	_, notes, err := trustEntries(td, time.Date(2033, 1, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	assert.Equal(t, []string{`trust store ca-certificates.crt: certificate "Pantavisor Dev CA" expired on 2032-06-08`}, notes)
	_, notes, err = trustEntries(td, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	assert.Empty(t, notes)
}

// fakeBoard writes a board with no modules, trust pointing at trust
// (relative to the board's directory), into a new boards directory, and a
// kernel directory with an empty modules release; it returns both.
func fakeBoard(t *testing.T, trust string) (boardsDir, kernel string) {
	t.Helper()
	boardsDir, kernel = t.TempDir(), t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(kernel, "modules", "6.1.0-test"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(boardsDir, "fake"), 0o755))
	body := `{"name":"fake","arch":"amd64","debian_arch":"amd64","kernel_package":"k","qemu":"q","console":"c","modules":[],"trust":"` + trust + `"}`
	require.NoError(t, os.WriteFile(filepath.Join(boardsDir, "fake", "board.json"), []byte(body), 0o644))
	return boardsDir, kernel
}

// TestBoardTrust: the board's "trust" ships; -trust replaces it; a board
// whose trust store does not load fails the build, unless -trust names
// another.
func TestBoardTrust(t *testing.T) {
	dir := t.TempDir()
	bin, applets := fakeInputs(t, dir)
	boardsDir, kernel := fakeBoard(t, "trust")
	td := filepath.Join(boardsDir, "fake", "trust")
	require.NoError(t, os.Mkdir(td, 0o755))
	ca, err := os.ReadFile(filepath.Join(confTrust, "ca-certificates.crt"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(td, "ca-certificates.crt"), ca, 0o644))
	args := []string{"-binary", bin, "-applets", applets, "-boards", boardsDir, "-board", "fake", "-kernel", kernel}

	es := archive(t, mkinitrd(t, filepath.Join(dir, "board.img"), args...))
	assert.Equal(t, ca, es["etc/pantavisor/pvs/trust/ca-certificates.crt"].Data, "the board's store")

	other, files := trustDir(t)
	es = archive(t, mkinitrd(t, filepath.Join(dir, "other.img"), append(args, "-trust", other)...))
	for n, data := range files {
		assert.Equal(t, data, es["etc/pantavisor/pvs/trust/"+n].Data, "-trust's %s", n)
	}

	require.NoError(t, os.WriteFile(filepath.Join(td, "ca-certificates.crt"), []byte("junk"), 0o644))
	err = run(append(args, "-o", filepath.Join(dir, "bad.img")), &bytes.Buffer{})
	require.ErrorIs(t, err, errTrust)
	assert.Contains(t, err.Error(), filepath.Join(td, "ca-certificates.crt"))
	mkinitrd(t, filepath.Join(dir, "override.img"), append(args, "-trust", other)...)
}

// TestQEMUBoardsShipDevStores: both QEMU boards ship the project's
// development CA followed by upstream's development trust stores byte for
// byte, they load, and the boards' signing chain verifies against them.
func TestQEMUBoardsShipDevStores(t *testing.T) {
	for _, name := range []string{"qemu-x86_64", "qemu-arm64"} {
		b, err := boards.Load(boards.Dir(), name)
		require.NoError(t, err)
		td := b.TrustDir(boards.Dir())
		require.NotEmpty(t, td, name)
		es, _, err := trustEntries(td, time.Now())
		require.NoError(t, err, name)
		got := map[string][]byte{}
		for _, e := range es {
			if e.Mode&cpio.TypeMask == cpio.TypeReg {
				got[filepath.Base(e.Name)] = e.Data
			}
		}
		require.Len(t, got, 2, name)
		for _, n := range []string{"ca-certificates.crt", "ca-oem-certificates.crt"} {
			upstream, err := os.ReadFile(filepath.Join(confTrust, n))
			require.NoError(t, err)
			assert.True(t, bytes.HasSuffix(got[n], upstream), "%s: %s ends with upstream's", name, n)
		}
		roots := x509.NewCertPool()
		require.True(t, roots.AppendCertsFromPEM(got["ca-certificates.crt"]))
		pemChain, err := os.ReadFile(filepath.Join(b.SigningDir(boards.Dir()), "chain.pem"))
		require.NoError(t, err, name)
		blk, _ := pem.Decode(pemChain)
		require.NotNil(t, blk, name)
		leaf, err := x509.ParseCertificate(blk.Bytes)
		require.NoError(t, err)
		chains, err := leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		require.NoError(t, err, "%s: the signing leaf chains to the shipped store", name)
		assert.Equal(t, "Pantavisor-in-Go development CA", chains[0][len(chains[0])-1].Subject.CommonName, name)
	}
}

// TestBoardKeyHardware: a board's key_hardware ships as the device's
// key-hardware file, one name a line; a board without ships none; an
// unknown name fails the board's load.
func TestBoardKeyHardware(t *testing.T) {
	dir := t.TempDir()
	bin, applets := fakeInputs(t, dir)
	boardsDir, kernel := fakeBoard(t, "")
	args := []string{"-binary", bin, "-applets", applets, "-boards", boardsDir, "-board", "fake", "-kernel", kernel}
	es := archive(t, mkinitrd(t, filepath.Join(dir, "none.img"), args...))
	_, ok := es["etc/pantavisor/key-hardware"]
	assert.False(t, ok, "no key hardware, no file")

	file := filepath.Join(boardsDir, "fake", "board.json")
	body, err := os.ReadFile(file)
	require.NoError(t, err)
	with := bytes.Replace(body, []byte(`"modules":[]`), []byte(`"modules":[],"key_hardware":["caam","dcp"]`), 1)
	require.NoError(t, os.WriteFile(file, with, 0o644))
	es = archive(t, mkinitrd(t, filepath.Join(dir, "hw.img"), args...))
	e := es["etc/pantavisor/key-hardware"]
	assert.Equal(t, "caam\ndcp\n", string(e.Data))
	assert.Equal(t, uint32(cpio.TypeReg|0o644), e.Mode)

	bad := bytes.Replace(body, []byte(`"modules":[]`), []byte(`"modules":[],"key_hardware":["tpm"]`), 1)
	require.NoError(t, os.WriteFile(file, bad, 0o644))
	err = run(append(args, "-o", filepath.Join(dir, "bad.img")), &bytes.Buffer{})
	assert.ErrorContains(t, err, `"key_hardware": unknown key hardware "tpm"`)
}
