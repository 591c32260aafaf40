package testenv

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"sort"
	"strings"
	"testing"

	"pantavisor/lib/rawjson"
	"pantavisor/lib/state"
	"pantavisor/lib/storage"
)

// InstallRevision installs revision rev into st from objects (state key
// → content) and inline jsons (state key → raw JSON), keys sorted.
func InstallRevision(t testing.TB, st *storage.Storage, rev string, objects map[string][]byte, inline map[string]string) {
	t.Helper()
	var b strings.Builder
	b.WriteString(`{"#spec":"pantavisor-service-system@1"`)
	byHash := map[string][]byte{}
	for _, k := range sortedKeys(inline) {
		b.WriteString("," + rawjson.Quote(k) + ":" + inline[k])
	}
	keys := make([]string, 0, len(objects))
	for k := range objects {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		h := sha256.Sum256(objects[k])
		sum := hex.EncodeToString(h[:])
		byHash[sum] = objects[k]
		b.WriteString("," + rawjson.Quote(k) + `:"` + sum + `"`)
	}
	b.WriteString("}")
	_, err := st.Install(rev, []byte(b.String()), func(o state.Object) (io.ReadCloser, int64, error) {
		return io.NopCloser(bytes.NewReader(byHash[o.SHA])), int64(len(byHash[o.SHA])), nil
	})
	must(t, err)
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
