package proto

import (
	"errors"
	"strings"
	"testing"
)

func TestAppendLogin(t *testing.T) {
	for _, tc := range []struct{ prn, secret, want string }{
		{"prn:::devices:/6b0749a7686c826fd54f419c", "g3h25g07icxly2k",
			`{"username": "prn:::devices:/6b0749a7686c826fd54f419c", "password": "g3h25g07icxly2k"}`},
		{`a"b`, `c\d`, `{"username": "a\"b", "password": "c\\d"}`},
		{"", "", `{"username": "", "password": ""}`},
	} {
		if got := string(AppendLogin([]byte("x"), tc.prn, tc.secret)); got != "x"+tc.want {
			t.Errorf("got  %s\nwant x%s", got, tc.want)
		}
	}
}

func TestParseToken(t *testing.T) {
	tok, err := ParseToken([]byte(`{"token": "eyJhbGciOiJSUzI1NiJ9.eyJpZCI6InBybiJ9.c2ln"}`))
	if err != nil || tok != "eyJhbGciOiJSUzI1NiJ9.eyJpZCI6InBybiJ9.c2ln" {
		t.Fatalf("got %q, %v", tok, err)
	}
	for _, tc := range []struct{ name, body, err string }{
		{"no token", `{}`, "no token"},
		{"number", `{"token":1}`, "is a number"},
		{"empty", `{"token":""}`, "empty or not printable"},
		{"crlf", `{"token":"secretpart\r\nX-Evil: 1"}`, "empty or not printable"},
		{"space", `{"token":"secret part"}`, "empty or not printable"},
		{"long", `{"token":"` + strings.Repeat("a", MaxToken+1) + `"}`, "too long"},
		{"array", `["secretpart"]`, "want an object"},
	} {
		_, err := ParseToken([]byte(tc.body))
		if !errors.Is(err, ErrAnswer) || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.err)
		}
		if err != nil && strings.Contains(err.Error(), "secretpart") {
			t.Errorf("%s: error quotes the token: %v", tc.name, err)
		}
	}
}

func TestParseError(t *testing.T) {
	for _, tc := range []struct {
		body string
		want HubError
		str  string
	}{
		{`{"error":"REST-ERR-ID-1","msg":"Error using AutoAuthToken","code":400}`,
			HubError{"REST-ERR-ID-1", "Error using AutoAuthToken", 400}, "REST-ERR-ID-1: Error using AutoAuthToken (code 400)"},
		{`{"Error":"Not Authorized"}`, HubError{ID: "Not Authorized"}, "Not Authorized"},
		{`{"msg":"a\nb"}`, HubError{Msg: "a?b"}, "a?b"},
		{`{"code":500}`, HubError{Code: 500}, "(code 500)"},
		{`{"code":"500","error":7}`, HubError{}, ""},
		{`<html>bad gateway</html>`, HubError{}, ""},
		{`[1]`, HubError{}, ""},
		{`{"error":"` + strings.Repeat("x", 300) + `"}`, HubError{ID: strings.Repeat("x", 200) + "…"}, strings.Repeat("x", 200) + "…"},
	} {
		got := ParseError([]byte(tc.body))
		if got != tc.want || got.String() != tc.str {
			t.Errorf("%s: got %+v %q, want %+v %q", tc.body, got, got.String(), tc.want, tc.str)
		}
	}
}

func TestParseTrails(t *testing.T) {
	for _, tc := range []struct {
		body   string
		synced bool
		ok     bool
	}{
		{`[]`, false, true},
		{` [ ] `, false, true},
		{`[{"id":"6b0749a7686c826fd54f419c"}]`, true, true},
		{`{}`, false, false},
		{`null`, false, false},
		{`[`, false, false},
	} {
		synced, err := ParseTrails([]byte(tc.body))
		if synced != tc.synced || (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrAnswer)) {
			t.Errorf("%s: got %v, %v", tc.body, synced, err)
		}
	}
}
