package proto

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"pantavisor/lib/meta"
)

func TestAppendDeviceMeta(t *testing.T) {
	m := map[string]string{
		"pantahub.state":   "idle",
		"interfaces":       `{"eth0.ipv4":["10.0.2.15"]}`,
		"pantavisor.arch":  "x86_64/64/EL",
		"sysinfo":          ` {"loads.0":1} `,
		"list":             `[1,2]`,
		"number":           "12",
		"quoted":           `a"b`,
		"pantahub.online":  "1",
		"pantahub.claimed": "true",
	}
	want := `{"interfaces":{"eth0.ipv4":["10.0.2.15"]},"list":[1,2],"number":"12","pantahub.claimed":"true",` +
		`"pantahub.online":"1","pantahub.state":"idle","pantavisor.arch":"x86_64/64/EL","quoted":"a\"b","sysinfo":{"loads.0":1}}`
	if got := string(AppendDeviceMeta(nil, m)); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := string(AppendDeviceMeta(nil, nil)); got != "{}" {
		t.Errorf("empty: got %s", got)
	}
}

func TestDeviceMetaChanged(t *testing.T) {
	a := map[string]string{"k": "v"}
	for _, tc := range []struct {
		sent, cur map[string]string
		want      bool
	}{
		{nil, nil, true},
		{nil, a, true},
		{map[string]string{}, map[string]string{}, false},
		{a, map[string]string{"k": "v"}, false},
		{a, map[string]string{"k": "w"}, true},
		{a, map[string]string{"k": "v", "l": ""}, true},
		{a, map[string]string{}, true},
	} {
		if got := DeviceMetaChanged(tc.sent, tc.cur); got != tc.want {
			t.Errorf("%v -> %v: got %v", tc.sent, tc.cur, got)
		}
	}
}

func TestParseUserMeta(t *testing.T) {
	m, err := ParseUserMeta([]byte(`{"app/key":"v","pantahub.log.push":"0","s":"a\u0026\n","o":{ "a" :1},"n":null,"i":3,"b":false}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"app/key": "v", "pantahub.log.push": "0", "s": "a&\n", "o": `{ "a" :1}`, "i": "3", "b": "false"}
	if !maps.Equal(m, want) {
		t.Fatalf("got %q", m)
	}
	for _, body := range []string{`[]`, `"x"`, `{`, ``} {
		if _, err := ParseUserMeta([]byte(body)); !errors.Is(err, ErrAnswer) {
			t.Errorf("%q: got %v", body, err)
		}
	}
}

func TestUserMetaDiff(t *testing.T) {
	local := map[string]string{"keep": "1", "change": "old", "gone": "x", "big": "small"}
	hub := map[string]string{"keep": "1", "change": "new", "add": "y", "../etc": "z", "a/b": "w",
		"big": strings.Repeat("b", meta.MaxValue+1)}
	set, del, err := UserMetaDiff(local, hub)
	if want := map[string]string{"change": "new", "add": "y"}; !maps.Equal(set, want) {
		t.Errorf("set: got %q, want %q", set, want)
	}
	if want := []string{"gone"}; !slices.Equal(del, want) {
		t.Errorf("del: got %q, want %q", del, want)
	}
	if !errors.Is(err, meta.ErrInvalidKey) || !errors.Is(err, meta.ErrValueTooLarge) ||
		!strings.Contains(err.Error(), `"../etc"`) || !strings.Contains(err.Error(), `"a/b"`) {
		t.Errorf("err: %v", err)
	}

	set, del, err = UserMetaDiff(local, map[string]string{})
	if len(set) != 0 || !slices.Equal(del, []string{"big", "change", "gone", "keep"}) || err != nil {
		t.Errorf("empty hub: got %q %q %v", set, del, err)
	}
	set, del, err = UserMetaDiff(nil, map[string]string{"a": ""})
	if !maps.Equal(set, map[string]string{"a": ""}) || del != nil || err != nil {
		t.Errorf("empty local: got %q %q %v", set, del, err)
	}
}
