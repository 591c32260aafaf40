package proto

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pantavisor/lib/persist"
)

var testCreds = Creds{ID: "6b0749a7686c826fd54f419c", PRN: "prn:::devices:/6b0749a7686c826fd54f419c", Secret: "g3h25g07icxly2k"}

func TestReadCreds(t *testing.T) {
	for _, tc := range []struct {
		text string
		want Creds
	}{
		{"creds.host=h\ncreds.id=6b0749a7686c826fd54f419c\ncreds.prn=prn:::devices:/6b0749a7686c826fd54f419c\ncreds.secret=g3h25g07icxly2k\n", testCreds},
		{"PH_CREDS_ID = 6b0749a7686c826fd54f419c\nph_creds_prn=prn:::devices:/6b0749a7686c826fd54f419c\n# creds.secret=no\nCREDS.SECRET=g3h25g07icxly2k", testCreds},
		{"creds.id=a\ncreds.id=6b0749a7686c826fd54f419c\n", Creds{ID: "6b0749a7686c826fd54f419c"}},
		{"garbage\ncreds.port=x\n", Creds{}},
		{"", Creds{}},
	} {
		got, err := ReadCreds(strings.NewReader(tc.text))
		if err != nil || got != tc.want {
			t.Errorf("%q: got %+v, %v", tc.text, got, err)
		}
	}
}

func TestSetCreds(t *testing.T) {
	old := "# hub\ncreds.host=api.pantahub.com\nPH_CREDS_ID=old\ncreds.port=443\n  creds.secret = s\n#creds.id=comment\ncreds.prn=p"
	got, err := SetCreds([]byte(old), testCreds)
	if err != nil {
		t.Fatal(err)
	}
	want := "# hub\ncreds.host=api.pantahub.com\ncreds.port=443\n#creds.id=comment\n" +
		"creds.id=6b0749a7686c826fd54f419c\ncreds.prn=prn:::devices:/6b0749a7686c826fd54f419c\ncreds.secret=g3h25g07icxly2k\n"
	if string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	back, err := ReadCreds(strings.NewReader(string(got)))
	if err != nil || back != testCreds {
		t.Fatalf("read back %+v, %v", back, err)
	}
	if got, _ := SetCreds(nil, Creds{}); string(got) != "creds.id=\ncreds.prn=\ncreds.secret=\n" {
		t.Fatalf("cleared: %q", got)
	}
	for _, bad := range []Creds{
		{ID: "../x"},
		{PRN: "p\ncreds.id=evil"},
		{Secret: "s "},
		{Secret: strings.Repeat("s", MaxCred+1)},
	} {
		if _, err := SetCreds(nil, bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestWriteCredsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pantahub.config")
	if c, err := ReadCredsFile(path); err != nil || c != (Creds{}) {
		t.Fatalf("missing file: %+v, %v", c, err)
	}
	if err := os.WriteFile(path, []byte("creds.host=h\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteCredsFile(&persist.Writer{}, path, testCreds); err != nil {
		t.Fatal(err)
	}
	if c, err := ReadCredsFile(path); err != nil || c != testCreds {
		t.Fatalf("got %+v, %v", c, err)
	}
	data, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(data), "creds.host=h\n") {
		t.Fatalf("other keys lost: %q", data)
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Fatalf("temporary left: %v", err)
	}
}

// crashed stops a persist.Writer at a crash point, as a power cut would.
type crashed struct{ point string }

// TestWriteCredsCrash stops the write at every persistence point before
// the rename lands: the old identity must read back intact each time.
func TestWriteCredsCrash(t *testing.T) {
	for _, stop := range []string{"write ", "fsync ", "rename "} {
		dir := t.TempDir()
		path := filepath.Join(dir, "pantahub.config")
		old := "creds.host=h\ncreds.id=aaaaaaaaaaaaaaaaaaaaaaaa\ncreds.prn=prn:::devices:/aaaaaaaaaaaaaaaaaaaaaaaa\ncreds.secret=old\n"
		if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
			t.Fatal(err)
		}
		w := &persist.Writer{Crash: func(point string) {
			if strings.HasPrefix(point, stop) {
				panic(crashed{point})
			}
		}}
		func() {
			defer func() {
				if r := recover(); r == nil {
					t.Fatalf("%s: no crash point reached", stop)
				} else if _, ok := r.(crashed); !ok {
					panic(r)
				}
			}()
			WriteCredsFile(w, path, testCreds)
		}()
		data, err := os.ReadFile(path)
		if err != nil || string(data) != old {
			t.Fatalf("crash at %q: file now %q, %v", stop, data, err)
		}
		c, err := ReadCredsFile(path)
		if err != nil || c.Secret != "old" || c.ID != "aaaaaaaaaaaaaaaaaaaaaaaa" {
			t.Fatalf("crash at %q: read %+v, %v", stop, c, err)
		}
		// The next write completes over the stale temporary.
		if err := WriteCredsFile(&persist.Writer{}, path, testCreds); err != nil {
			t.Fatal(err)
		}
		if c, err := ReadCredsFile(path); err != nil || c != testCreds {
			t.Fatalf("after crash at %q, rewrite: %+v, %v", stop, c, err)
		}
	}
}

func TestWriteCredsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pantahub.config")
	err := WriteCredsFile(&persist.Writer{}, path, Creds{ID: "bad"})
	if err == nil || !strings.Contains(err.Error(), "device id") {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("file written for refused creds: %v", err)
	}
}
