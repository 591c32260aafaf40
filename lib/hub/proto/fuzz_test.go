package proto

import (
	"bytes"
	"maps"
	"strconv"
	"testing"

	"pantavisor/lib/rawjson"
)

// deviceJSON writes d back as a device record.
func deviceJSON(d Device) []byte {
	b := []byte(`{"id":`)
	b = rawjson.AppendString(b, d.ID)
	for _, m := range []struct{ k, v string }{{"prn", d.PRN}, {"secret", d.Secret}, {"challenge", d.Challenge}, {"owner", d.Owner}, {"nick", d.Nick}} {
		b = append(b, ',')
		b = rawjson.AppendString(b, m.k)
		b = append(b, ':')
		b = rawjson.AppendString(b, m.v)
	}
	return append(b, '}')
}

// FuzzParseDevice: no panic; an accepted registration or device answer
// has a valid id (and prn, secret), and written back parses the same.
func FuzzParseDevice(f *testing.F) {
	f.Add([]byte(regAnswer))
	f.Add([]byte(`{"id":"6b0749a7686c826fd54f419c","owner":"o","challenge":"c"}`))
	f.Add([]byte(`{"id":"6b0749a7686c826fd54f419c","prn":"prn:::devices:/6b0749a7686c826fd54f419c","secret":"a\u0000"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if d, err := ParseRegister(data); err == nil {
			if CheckID(d.ID) != nil || d.PRN != PRNPrefix+d.ID || (Creds{d.ID, d.PRN, d.Secret}).Check() != nil || d.Secret == "" {
				t.Fatalf("accepted %+v", d)
			}
			if d2, err := ParseRegister(deviceJSON(d)); err != nil || d2 != d {
				t.Fatalf("round trip: %+v, %v; was %+v", d2, err, d)
			}
		}
		if d, err := ParseDevice(data); err == nil {
			if CheckID(d.ID) != nil || d.Secret != "" {
				t.Fatalf("accepted %+v", d)
			}
			if d2, err := ParseDevice(deviceJSON(d)); err != nil || d2 != d {
				t.Fatalf("round trip: %+v, %v; was %+v", d2, err, d)
			}
		}
	})
}

// FuzzParseSteps: no panic; an accepted step has rev ≥ 0 and an object
// state that are exact bytes of the input, and written back parses the
// same.
func FuzzParseSteps(f *testing.F) {
	f.Add([]byte(stepAnswer))
	f.Add([]byte(`[]`))
	f.Add([]byte(`[{"rev":0,"state":{"a":1},"progress":{},"commit-msg":"x"}]`))
	f.Add([]byte(`[{"rev":-1,"state":[]}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, ok, err := ParseSteps(data)
		if err != nil || !ok {
			return
		}
		if s.Rev < 0 || !bytes.Contains(data, s.State) {
			t.Fatalf("accepted %+v", s)
		}
		if v, err := rawjson.Parse(s.State); err != nil || v.Kind != rawjson.Object {
			t.Fatalf("state %q: %v", s.State, err)
		}
		b := []byte(`[{"rev":` + strconv.FormatInt(s.Rev, 10) + `,"state":`)
		b = append(b, s.State...)
		if s.Progress != nil {
			b = append(append(b, `,"progress":`...), s.Progress...)
		}
		b = rawjson.AppendString(append(b, `,"commit-msg":`...), s.CommitMsg)
		b = append(b, "}]"...)
		s2, ok, err := ParseSteps(b)
		if err != nil || !ok || s2.Rev != s.Rev || !bytes.Equal(s2.State, s.State) || !bytes.Equal(s2.Progress, s.Progress) || s2.CommitMsg != s.CommitMsg {
			t.Fatalf("round trip: %+v, %v, %v; was %+v", s2, ok, err, s)
		}
	})
}

// FuzzParseObject: no panic; accepted metadata has a valid sha, a size ≥ 0
// and a URL without space or control characters, and written back parses
// the same.
func FuzzParseObject(f *testing.F) {
	f.Add([]byte(`{"sha256sum":"` + sha + `","size":"19","signed-geturl":"https://h/local-s3/x\u0026y"}`))
	f.Add([]byte(`{"sha256sum":"` + sha + `","size":19,"signed-geturl":"u"}`))
	f.Add([]byte(`{"sha256sum":"` + sha + `","size":"1x","signed-geturl":"u"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := ParseObject(data)
		if err != nil {
			return
		}
		if CheckSha(o.Sha256sum) != nil || o.Size < 0 || !token(o.SignedGetURL) {
			t.Fatalf("accepted %+v", o)
		}
		b := []byte(`{"sha256sum":"` + o.Sha256sum + `","size":"` + strconv.FormatInt(o.Size, 10) + `","signed-geturl":`)
		b = append(rawjson.AppendString(b, o.SignedGetURL), '}')
		if o2, err := ParseObject(b); err != nil || o2 != o {
			t.Fatalf("round trip: %+v, %v; was %+v", o2, err, o)
		}
	})
}

// FuzzParseUserMeta: no panic; an accepted map written as a flat object
// (AppendDeviceMeta) and read back is stable after one round, and the
// diff against the empty store sets only valid keys.
func FuzzParseUserMeta(f *testing.F) {
	f.Add([]byte(`{"app/key":"v","pantahub.log.push":"0","o":{ "a" :1},"n":null,"i":3}`))
	f.Add([]byte(`{"s":" {} ","../x":"y"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseUserMeta(data)
		if err != nil {
			return
		}
		m2, err := ParseUserMeta(AppendDeviceMeta(nil, m))
		if err != nil || len(m2) != len(m) {
			t.Fatalf("first round: %q, %v; was %q", m2, err, m)
		}
		m3, err := ParseUserMeta(AppendDeviceMeta(nil, m2))
		if err != nil || !maps.Equal(m2, m3) {
			t.Fatalf("second round: %q, %v; was %q", m3, err, m2)
		}
		set, del, _ := UserMetaDiff(nil, m)
		if del != nil {
			t.Fatalf("deleted %q from an empty store", del)
		}
		for k := range set {
			if _, ok := m[k]; !ok {
				t.Fatalf("set %q not from the hub", k)
			}
		}
	})
}
