package proto

import (
	"errors"
	"strings"
	"testing"
)

const sha = "d313e3a3d3b0ab0e1bfa4a3e7c6c2c0f8e6f1b2b6a7d3e0c2f5b4a1e9c8d1213"

func TestParseObject(t *testing.T) {
	ok := []struct {
		name, body string
		want       Object
	}{
		{"reference", `{"id":"` + sha + `","storage-id":"x","owner":"prn:o","objectname":"bsp/kernel.img",
    "sha256sum":"` + sha + `","size":"19","sizeint":19,"mime-type":"",
    "signed-puturl":"https://h:12366/local-s3/put","signed-geturl":"https://h:12366/local-s3/eyJ.a-b_c","now":"1795639798","expire-time":"15"}`,
			Object{sha, 19, "https://h:12366/local-s3/eyJ.a-b_c"}},
		{"number size", `{"sha256sum":"` + sha + `","size":0,"signed-geturl":"https://h/x"}`, Object{sha, 0, "https://h/x"}},
		{"big size", `{"sha256sum":"` + sha + `","size":"9223372036854775807","signed-geturl":"https://h/x"}`, Object{sha, 9223372036854775807, "https://h/x"}},
		{"u0026", `{"sha256sum":"` + sha + `","size":"5","signed-geturl":"https://h/x?a=1\u0026b=2\u0026c"}`, Object{sha, 5, "https://h/x?a=1&b=2&c"}},
	}
	for _, tc := range ok {
		got, err := ParseObject([]byte(tc.body))
		if err != nil || got != tc.want {
			t.Errorf("%s: got %+v, %v, want %+v", tc.name, got, err, tc.want)
		}
	}
	obj := func(shaV, size, url string) string {
		return `{"sha256sum":` + shaV + `,"size":` + size + `,"signed-geturl":` + url + `}`
	}
	q := func(s string) string { return `"` + s + `"` }
	for _, tc := range []struct{ name, body, err string }{
		{"not json", `{`, "invalid JSON"},
		{"array", `[]`, "want an object"},
		{"no sha", `{"size":"1","signed-geturl":"u"}`, "0 characters"},
		{"upper sha", obj(q(strings.ToUpper(sha)), `"1"`, q("u")), "lowercase hex"},
		{"short sha", obj(q(sha[:63]), `"1"`, q("u")), "63 characters"},
		{"sha number", obj(`1`, `"1"`, q("u")), `"sha256sum" is a number`},
		{"no size", `{"sha256sum":"` + sha + `","signed-geturl":"u"}`, "no size"},
		{"size garbage", obj(q(sha), `"12abc"`, q("u")), `size "12abc": want decimal digits`},
		{"size empty", obj(q(sha), `""`, q("u")), "want decimal digits"},
		{"size negative", obj(q(sha), `-1`, q("u")), `size "-1"`},
		{"size negative string", obj(q(sha), `"-1"`, q("u")), `size "-1"`},
		{"size space", obj(q(sha), `" 1"`, q("u")), "want decimal digits"},
		{"size fraction", obj(q(sha), `1.5`, q("u")), "want decimal digits"},
		{"size exponent", obj(q(sha), `1e3`, q("u")), "want decimal digits"},
		{"size overflow", obj(q(sha), `"9223372036854775808"`, q("u")), "out of range"},
		{"size bool", obj(q(sha), `true`, q("u")), "size is a boolean"},
		{"no url", `{"sha256sum":"` + sha + `","size":"1"}`, "signed-geturl empty"},
		{"url crlf", obj(q(sha), `"1"`, q(`https://h/x\r\nHost: evil`)), "not printable"},
		{"url space", obj(q(sha), `"1"`, q(`https://h/x y`)), "not printable"},
	} {
		_, err := ParseObject([]byte(tc.body))
		if !errors.Is(err, ErrAnswer) || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.err)
		}
	}
}

func TestAppendObjectPost(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int64
		want string
	}{
		{"bsp/kernel.img", 19, `{ "objectname": "bsp/kernel.img", "size": "19", "sha256sum": "` + sha + `" }`},
		{`a"b`, 0, `{ "objectname": "a\"b", "size": "0", "sha256sum": "` + sha + `" }`},
	} {
		if got := string(AppendObjectPost(nil, tc.name, tc.size, sha)); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}

func TestParsePutURL(t *testing.T) {
	u, err := ParsePutURL([]byte(`{"signed-puturl":"https://h:12366/local-s3/eyJ"}`))
	if err != nil || u != "https://h:12366/local-s3/eyJ" {
		t.Fatalf("got %q, %v", u, err)
	}
	for _, body := range []string{`{}`, `{"signed-puturl":""}`, `{"signed-puturl":1}`, `"x"`} {
		if _, err := ParsePutURL([]byte(body)); !errors.Is(err, ErrAnswer) {
			t.Errorf("%s: got %v", body, err)
		}
	}
}

func TestUploadPath(t *testing.T) {
	for _, tc := range []struct{ url, want, err string }{
		{"https://api.pantahub.com:443/local-s3/eyJ.x-y", "/local-s3/eyJ.x-y", ""},
		{"https://other/prefix/local-s3/a?b=c", "/local-s3/a?b=c", ""},
		{"/local-s3", "/local-s3", ""},
		{"https://h/s3/eyJ", "", "no /local-s3"},
		{"", "", "no /local-s3"},
		{"https://h/local-s3/a b", "", "not printable"},
		{"https://h/local-s3/a\r\nX: y", "", "not printable"},
	} {
		got, err := UploadPath(tc.url)
		if tc.err == "" && (err != nil || got != tc.want) || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%q: got %q, %v", tc.url, got, err)
		}
	}
}
