package mkext

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"pantavisor/lib/testenv"
)

const mib = 1 << 20

// formatFile formats a new sparse file of size bytes.
func formatFile(t *testing.T, size int64, opts Options) (string, Layout) {
	t.Helper()
	img := filepath.Join(t.TempDir(), "fs.img")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	l, err := Format(f, size, opts)
	if err != nil {
		t.Fatal(err)
	}
	return img, l
}

// fsck runs e2fsck -fn and fails t unless it finds the image clean.
func fsck(t *testing.T, img string) {
	t.Helper()
	out, err := exec.Command("e2fsck", "-fn", img).CombinedOutput()
	if err != nil {
		t.Fatalf("e2fsck -fn %s: %v\n%s", img, err, out)
	}
	t.Logf("%s", out)
}

// TestE2fsck formats images of several sizes and block sizes and has
// e2fsck check them (-f: check even though clean; -n: change nothing).
func TestE2fsck(t *testing.T) {
	testenv.RequireCommand(t, "e2fsck", "Debian package e2fsprogs")
	for _, c := range []struct {
		size, bs int64
	}{
		{256 << 10, 0}, {2 * mib, 0}, {8 * mib, 0}, {8*mib + 3*1024, 0}, {64 * mib, 0}, {64 * mib, 4096},
		{64*mib + 60*1024, 1024}, {100 * mib, 2048}, {1 << 30, 0}, {1<<30 + 5*4096, 0},
	} {
		t.Run(fmt.Sprintf("%dKiB-bs%d", c.size>>10, c.bs), func(t *testing.T) {
			img, l := formatFile(t, c.size, Options{BlockSize: c.bs})
			fsck(t, img)
			f, err := os.Open(img)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if ok, err := Formatted(f); !ok || err != nil {
				t.Errorf("Formatted = %v, %v after Format (%+v)", ok, err, l)
			}
		})
	}
}

func TestFormattedEmptyAndShort(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
		want bool
	}{
		{"zeros", make([]byte, 4096), false},
		{"short", make([]byte, 100), false},
		{"magic", append(make([]byte, 0x438), 0x53, 0xef), true},
		{"swapped magic", append(make([]byte, 0x438), 0xef, 0x53), false},
	} {
		got, err := Formatted(bytes.NewReader(c.data))
		if got != c.want || err != nil {
			t.Errorf("%s: Formatted = %v, %v; want %v", c.name, got, err, c.want)
		}
	}
}

// TestReproducible formats twice with fixed options: same bytes.
func TestReproducible(t *testing.T) {
	opts := Options{UUID: [16]byte{1, 2, 3}, Now: time.Unix(1700000000, 0), Label: "secrets"}
	a, _ := formatFile(t, 8*mib, opts)
	b, _ := formatFile(t, 8*mib, opts)
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if !bytes.Equal(ab, bb) {
		t.Error("two formats with the same options differ")
	}
}

func TestFormatErrors(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "x"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := Format(f, 10*1024, Options{}); !errors.Is(err, ErrTooSmall) {
		t.Errorf("10 KiB: %v, want ErrTooSmall", err)
	}
	if _, err := Format(f, 8*mib, Options{BlockSize: 512}); err == nil {
		t.Error("block size 512 accepted")
	}
	if _, err := Format(f, 8*mib, Options{Label: "a label that is too long"}); err == nil {
		t.Error("17-byte label accepted")
	}
	if _, err := Format(f, 8*mib, Options{Rand: bytes.NewReader(nil)}); err == nil {
		t.Error("empty random source accepted")
	}
}

// TestFormatOverNoise formats a file full of random bytes, as a fresh
// dm-crypt mapping of a zeroed image reads: every metadata byte must be
// written, none assumed zero.
func TestFormatOverNoise(t *testing.T) {
	testenv.RequireCommand(t, "e2fsck", "Debian package e2fsprogs")
	for _, size := range []int64{2 * mib, 9 * mib} {
		img := filepath.Join(t.TempDir(), "noise.img")
		noise := make([]byte, size)
		if _, err := rand.Read(noise); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(img, noise, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(img, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Format(f, size, Options{}); err != nil {
			t.Fatal(err)
		}
		f.Close()
		fsck(t, img)
	}
}
