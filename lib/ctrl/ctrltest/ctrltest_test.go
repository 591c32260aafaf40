package ctrltest

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// do sends one request to f and returns the status and body of the reply.
func do(t *testing.T, f *Server, method, target, body string) (int, string) {
	t.Helper()
	c, err := net.Dial("unix", f.Sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req, err := http.NewRequest(method, "http://localhost"+target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	if err := req.Write(c); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestServer(t *testing.T) {
	f := New(t)
	if code, body := do(t, f, "GET", "/objects", ""); code != 200 || body != "" {
		t.Errorf("default reply = %d %q, want 200 and no body", code, body)
	}
	f.SetReply(func(r Request) (int, string) { return 404, fmt.Sprintf(`{"Error":%q}`, r.Target) })
	if code, body := do(t, f, "PUT", "/steps/locals/x", "state"); code != 404 || body != `{"Error":"/steps/locals/x"}` {
		t.Errorf("SetReply's reply = %d %q", code, body)
	}
	big := strings.Repeat("b", KeepMax+10)
	do(t, f, "PUT", "/objects/x", big)
	if got, want := strings.Join(f.Calls(), ","), "GET /objects,PUT /steps/locals/x,PUT /objects/x"; got != want {
		t.Errorf("Calls = %s, want %s", got, want)
	}
	reqs := f.Requests()
	if r := reqs[1]; r.Body != "state" || r.Len != 5 || r.CType != "application/octet-stream" {
		t.Errorf("request = %+v, want the body, its length and content type", r)
	}
	sum := sha256.Sum256([]byte(big))
	if r := reqs[2]; len(r.Body) != KeepMax || r.Len != int64(len(big)) || r.SHA != hex.EncodeToString(sum[:]) {
		t.Errorf("big request: kept %d bytes of %d, SHA %s; want KeepMax kept and the whole body's length and SHA",
			len(r.Body), r.Len, r.SHA)
	}
	f.Reset()
	if len(f.Requests()) != 0 {
		t.Errorf("after Reset: %v", f.Calls())
	}
}
