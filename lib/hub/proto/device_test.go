package proto

import (
	"errors"
	"strings"
	"testing"
)

const regAnswer = `{"id":"6b0749a7686c826fd54f419c","prn":"prn:::devices:/6b0749a7686c826fd54f419c",
 "nick":"__unregistered__donkey_jpxtqpsyti","owner":"","secret":"g3h25g07icxly2k",
 "time-created":"2025-01-01T00:00:00Z","time-modified":"2025-01-01T00:00:00Z","challenge":"gently-living-swine",
 "public":false,"user-meta":{},"device-meta":{},"garbage":false,"mark_public_processed":false}`

func TestParseRegister(t *testing.T) {
	d, err := ParseRegister([]byte(regAnswer))
	if err != nil {
		t.Fatal(err)
	}
	want := Device{ID: "6b0749a7686c826fd54f419c", PRN: "prn:::devices:/6b0749a7686c826fd54f419c",
		Secret: "g3h25g07icxly2k", Challenge: "gently-living-swine", Nick: "__unregistered__donkey_jpxtqpsyti"}
	if d != want {
		t.Fatalf("got %+v\nwant %+v", d, want)
	}
	const id = "6b0749a7686c826fd54f419c"
	for _, tc := range []struct{ name, body, err string }{
		{"not json", `{"id":`, "invalid JSON"},
		{"array", `[]`, "want an object, got array"},
		{"no id", `{"prn":"prn:::devices:/x","secret":"s"}`, "device id"},
		{"short id", `{"id":"6b0749a7686c826fd54f419","prn":"p","secret":"s"}`, "23 characters"},
		{"upper id", `{"id":"6B0749A7686C826FD54F419C","prn":"p","secret":"s"}`, "lowercase hex"},
		{"path id", `{"id":"../../../../etc/passwd/x","prn":"p","secret":"s"}`, "lowercase hex"},
		{"id number", `{"id":6,"prn":"p","secret":"s"}`, `"id" is a number`},
		{"no prn", `{"id":"` + id + `","secret":"s"}`, "does not name device"},
		{"other prn", `{"id":"` + id + `","prn":"prn:::devices:/aaaaaaaaaaaaaaaaaaaaaaaa","secret":"s"}`, "does not name device"},
		{"no secret", `{"id":"` + id + `","prn":"prn:::devices:/` + id + `"}`, "no secret"},
		{"secret newline", `{"id":"` + id + `","prn":"prn:::devices:/` + id + `","secret":"a\nPH_X=1"}`, "control character"},
		{"secret space", `{"id":"` + id + `","prn":"prn:::devices:/` + id + `","secret":" a"}`, "surrounding space"},
		{"owner number", `{"id":"` + id + `","prn":"prn:::devices:/` + id + `","secret":"s","owner":1}`, `"owner" is a number`},
	} {
		_, err := ParseRegister([]byte(tc.body))
		if !errors.Is(err, ErrAnswer) || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: got %v, want ErrAnswer with %q", tc.name, err, tc.err)
		}
	}
}

func TestParseDevice(t *testing.T) {
	d, err := ParseDevice([]byte(`{"id":"6b0749a7686c826fd54f419c","owner":"prn:pantahub.com:auth:/user1","challenge":"","secret":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	if d.Owner != "prn:pantahub.com:auth:/user1" || d.Challenge != "" || d.Secret != "" {
		t.Fatalf("got %+v", d)
	}
	d, err = ParseDevice([]byte(`{"id":"6b0749a7686c826fd54f419c","owner":null,"challenge":"gently-living-swine"}`))
	if err != nil || d.Owner != "" || d.Challenge != "gently-living-swine" {
		t.Fatalf("got %+v, %v", d, err)
	}
	if _, err := ParseDevice([]byte(`{"id":""}`)); !errors.Is(err, ErrAnswer) {
		t.Fatalf("empty id: got %v", err)
	}
}

func TestCheckID(t *testing.T) {
	for id, ok := range map[string]bool{
		"6b0749a7686c826fd54f419c":  true,
		"000000000000000000000000":  true,
		"6b0749a7686c826fd54f419":   false,
		"6b0749a7686c826fd54f419cc": false,
		"6b0749a7686c826fd54f419g":  false,
		"6b0749a7686c826fd54f419C":  false,
		"":                          false,
	} {
		if err := CheckID(id); (err == nil) != ok {
			t.Errorf("CheckID(%q) = %v, want ok %v", id, err, ok)
		}
	}
}
