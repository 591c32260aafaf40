package proto

import (
	"strings"
	"testing"

	"pantavisor/lib/rawjson"
)

func TestAppendFragment(t *testing.T) {
	for _, tc := range []struct {
		f    Fragment
		want string
	}{
		{Fragment{Src: "/pantavisor.log", Plat: "pantavisor", Rev: "1", Msg: "[pantavisor] hello"},
			`{ "tsec": 0, "tnano": 0,"lvl": "INFO", "src": "/pantavisor.log","plat":"pantavisor","rev": "1" , "msg": "[pantavisor] hello" }`},
		{Fragment{Tsec: 1732560000, Tnano: 999999999, Lvl: "ERROR", Src: "/lxc/console.log", Plat: "app", Rev: "12", Msg: "a\"b\\c\td\x01"},
			`{ "tsec": 1732560000, "tnano": 999999999,"lvl": "ERROR", "src": "/lxc/console.log","plat":"app","rev": "12" , "msg": "a\"b\\c\td\u0001" }`},
	} {
		if got := string(AppendFragment(nil, tc.f)); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}

// checkBody parses a batch body and returns its messages.
func checkBody(t *testing.T, body []byte) []string {
	t.Helper()
	if len(body) > MaxLogBytes {
		t.Fatalf("body of %d bytes, limit %d", len(body), MaxLogBytes)
	}
	v, err := rawjson.Parse(body)
	if err != nil || v.Kind != rawjson.Array {
		t.Fatalf("body is no JSON array: %v", err)
	}
	if len(v.Items) > MaxLogFragments {
		t.Fatalf("%d fragments, limit %d", len(v.Items), MaxLogFragments)
	}
	var msgs []string
	for _, it := range v.Items {
		m, _ := it.Get("msg")
		msgs = append(msgs, m.Str)
	}
	return msgs
}

func TestLogBatchFragments(t *testing.T) {
	var b LogBatch
	if string(b.Body()) != "[]" || b.Len() != 0 {
		t.Fatalf("zero batch: %s", b.Body())
	}
	for i := 0; i < MaxLogFragments; i++ {
		if !b.Add(Fragment{Msg: "line"}) {
			t.Fatalf("fragment %d refused", i)
		}
	}
	if b.Add(Fragment{Msg: "one too many"}) {
		t.Fatal("fragment 201 accepted")
	}
	if msgs := checkBody(t, b.Body()); len(msgs) != MaxLogFragments || msgs[0] != "line" {
		t.Fatalf("got %d messages", len(msgs))
	}
	b.Reset()
	if !b.Add(Fragment{Msg: "again"}) || b.Len() != 1 {
		t.Fatal("reset batch refused a fragment")
	}
	if msgs := checkBody(t, b.Body()); len(msgs) != 1 || msgs[0] != "again" {
		t.Fatalf("after reset: %q", msgs)
	}
}

func TestLogBatchBytes(t *testing.T) {
	var b LogBatch
	line := strings.Repeat("x", 10<<10)
	n := 0
	for b.Add(Fragment{Msg: line}) {
		n++
	}
	// 25 lines of 10 KiB plus their ~100 bytes of JSON fit into 256 KiB.
	if n != 25 {
		t.Fatalf("%d lines of 10 KiB fit, want 25", n)
	}
	body := b.Body()
	if msgs := checkBody(t, body); len(msgs) != n || msgs[n-1] != line {
		t.Fatalf("got %d messages", len(msgs))
	}

	// A line that fills the body exactly is taken whole.
	b.Reset()
	overhead := len(AppendFragment(nil, Fragment{})) + 2
	exact := strings.Repeat("y", MaxLogBytes-overhead)
	if !b.Add(Fragment{Msg: exact}) || len(b.Body()) != MaxLogBytes || checkBody(t, b.Body())[0] != exact {
		t.Fatalf("exact fit: %d bytes", len(b.Body()))
	}
	if b.Add(Fragment{}) {
		t.Fatal("a fragment was added to a full body")
	}
}

func TestLogBatchHugeLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		line string
	}{
		{"plain", strings.Repeat("z", 1<<20)},
		{"escaped", strings.Repeat("\x01", 100<<10)}, // 6 bytes each once escaped
		{"multibyte", strings.Repeat("é", 200<<10)},
	} {
		var b LogBatch
		b.Add(Fragment{Msg: "before"})
		if b.Add(Fragment{Msg: tc.line}) {
			t.Fatalf("%s: huge line joined a non-empty batch", tc.name)
		}
		b.Reset()
		if !b.Add(Fragment{Msg: tc.line}) {
			t.Fatalf("%s: empty batch refused the huge line", tc.name)
		}
		msgs := checkBody(t, b.Body())
		if len(msgs) != 1 || !strings.HasPrefix(tc.line, msgs[0]) || len(msgs[0]) < 40<<10 {
			t.Fatalf("%s: kept %d bytes, not a prefix of the line", tc.name, len(msgs[0]))
		}
		if len(b.Body()) < MaxLogBytes-8 {
			t.Errorf("%s: truncated to %d bytes, more than needed", tc.name, len(b.Body()))
		}
		if b.Add(Fragment{Msg: "after"}) {
			t.Errorf("%s: a line joined the full batch", tc.name)
		}
	}
}
