package zram

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParseOptions(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []Option
		bad  bool
	}{
		{"", nil, false},
		{"disksize=128M comp_algorithm=lz4", []Option{{"disksize", "128M"}, {"comp_algorithm", "lz4"}}, false},
		{"  disksize=1G   max_comp_streams=2 ", []Option{{"disksize", "1G"}, {"max_comp_streams", "2"}}, false},
		{"disksize", nil, true},
		{"=1", nil, true},
		{"disksize=", nil, true},
		{"../../x=1", nil, true},
		{"..=1", nil, true},
	} {
		got, err := ParseOptions(c.in)
		if (err != nil) != c.bad || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseOptions(%q) = %v, %v", c.in, got, err)
		}
	}
}

// fakeSys makes a /sys with zram devices of the given initstates.
func fakeSys(t *testing.T, initstates ...string) Control {
	dir := t.TempDir()
	for n, s := range initstates {
		d := filepath.Join(dir, "block", "zram"+string(rune('0'+n)))
		must(t, os.MkdirAll(d, 0o755))
		must(t, os.WriteFile(filepath.Join(d, "initstate"), []byte(s+"\n"), 0o644))
	}
	must(t, os.MkdirAll(filepath.Join(dir, "class", "zram-control"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "class", "zram-control", "hot_add"), []byte("7\n"), 0o644))
	return Control{Sys: dir}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestGet(t *testing.T) {
	for _, c := range []struct {
		name    string
		states  []string
		noReuse bool
		want    Device
	}{
		{"reuse the first uninitialised", []string{"1", "0", "0"}, false, Device{N: 1}},
		{"all in use: hot_add", []string{"1", "1"}, false, Device{N: 7, Added: true}},
		{"none: hot_add", nil, false, Device{N: 7, Added: true}},
		{"NoReuse", []string{"0"}, true, Device{N: 7, Added: true}},
	} {
		z := fakeSys(t, c.states...)
		z.NoReuse = c.noReuse
		got, err := z.Get()
		if err != nil || got != c.want {
			t.Errorf("%s: Get = %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
	if _, err := (Control{Sys: t.TempDir(), NoReuse: true}).Get(); !errors.Is(err, ErrNoZram) {
		t.Errorf("no zram-control: %v", err)
	}
}

// TestConfigureOrder checks that disksize is written last and that a
// failed attribute is a warning, a failed disksize an error.
func TestConfigureOrder(t *testing.T) {
	c := fakeSys(t, "0")
	d := Device{N: 0}
	w, err := c.Configure(d, []Option{{"disksize", "64M"}, {"comp_algorithm", "lz4"}, {"nosuch/x", "1"}})
	if err != nil || len(w) != 1 {
		t.Fatalf("Configure: warnings %v, err %v", w, err)
	}
	for k, v := range map[string]string{"disksize": "64M", "comp_algorithm": "lz4"} {
		b, _ := os.ReadFile(c.attr(0, k))
		if string(b) != v {
			t.Errorf("%s = %q, want %q", k, b, v)
		}
	}
	if _, err := c.Configure(d, []Option{{"comp_algorithm", "lz4"}}); err == nil {
		t.Error("no disksize accepted")
	}
	if _, err := c.Configure(Device{N: 5}, []Option{{"disksize", "1M"}}); err == nil {
		t.Error("disksize of a missing device accepted")
	}
}
