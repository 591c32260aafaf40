package cpio

import (
	"bytes"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// names lists entries' names in order.
func names(es []Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Name)
	}
	return out
}

// TestPack: with a BCJ filter the modules go into a second archive,
// packed without it, after the first; without a filter, or without
// modules, there is one archive. Unpack gives every entry back.
func TestPack(t *testing.T) {
	if _, err := exec.LookPath("xz"); err != nil {
		t.Skip("SKIPPED, MISSING CAPABILITY: needs xz on PATH (make deps installs xz-utils)")
	}
	module := Entry{Name: "lib/modules/6.1.0/kernel/fs/ext4.ko", Mode: TypeReg | 0o644, Data: []byte("\x7fELF module")}
	withModules := append(sample(), module, Entry{Name: "lib/modules", Mode: TypeDir | 0o755})
	for _, c := range []struct {
		name     string
		entries  []Entry
		bcj      string
		archives int
	}{
		{"filter and modules", withModules, "x86", 2},
		{"no filter", withModules, "", 1},
		{"no modules", sample(), "x86", 1},
	} {
		packed, err := Pack(c.entries, c.bcj)
		require.NoError(t, err, c.name)
		bcj, err := BCJOf(packed)
		require.NoError(t, err)
		assert.Equal(t, c.bcj, bcj, "%s: the first archive's filter", c.name)
		archives, err := Unxz(packed)
		require.NoError(t, err)
		assert.Equal(t, c.archives, bytes.Count(archives, []byte(trailer)), c.name)
		got, err := Unpack(packed, 1<<20)
		require.NoError(t, err, c.name)
		want := names(Reproducible(c.entries))
		if c.archives == 2 {
			assert.Equal(t, module.Name, got[len(got)-1].Name, "%s: the module last, in the second archive", c.name)
		}
		assert.ElementsMatch(t, want, names(got), c.name)
	}
}

// TestReadAll: zero bytes between archives are skipped, as the kernel
// skips them; no archive at all and a damaged second one are errors.
func TestReadAll(t *testing.T) {
	var one bytes.Buffer
	require.NoError(t, Write(&one, Reproducible(sample())))
	two := append(append(bytes.Clone(one.Bytes()), make([]byte, 7)...), one.Bytes()...)
	es, err := ReadAll(bytes.NewReader(two), 1<<20)
	require.NoError(t, err)
	assert.Len(t, es, 2*len(sample()))

	for _, bad := range [][]byte{nil, make([]byte, 16), append(bytes.Clone(one.Bytes()), "070701garbage"...)} {
		_, err := ReadAll(bytes.NewReader(bad), 1<<20)
		assert.ErrorIs(t, err, ErrFormat, "%q", bad)
	}
}
