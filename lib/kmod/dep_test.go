package kmod

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sampleDep = `kernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko kernel/fs/mbcache.ko kernel/lib/crc16.ko
kernel/fs/jbd2/jbd2.ko:
kernel/fs/mbcache.ko:
kernel/lib/crc16.ko:
kernel/drivers/net/virtio-net.ko: kernel/drivers/virtio/virtio.ko
`

func TestOrderPutsDependenciesFirst(t *testing.T) {
	d, err := ParseDep(strings.NewReader(sampleDep))
	require.NoError(t, err)
	got, err := d.Order("ext4", "ext4")
	require.NoError(t, err)
	assert.Equal(t, []string{"kernel/fs/jbd2/jbd2.ko", "kernel/fs/mbcache.ko", "kernel/lib/crc16.ko", "kernel/fs/ext4/ext4.ko"}, got)
}

func TestOrderErrors(t *testing.T) {
	d, err := ParseDep(strings.NewReader(sampleDep))
	require.NoError(t, err)
	_, err = d.Order("nosuch")
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = d.Order("virtio_net") // its dependency has no line
	assert.ErrorIs(t, err, ErrNotFound)
	c, _ := ParseDep(strings.NewReader("a.ko: b.ko\nb.ko: a.ko\n"))
	_, err = c.Order("a")
	assert.ErrorContains(t, err, "cycle")
}

func TestParseDepRejectsLineWithoutColon(t *testing.T) {
	_, err := ParseDep(strings.NewReader("kernel/x.ko\n"))
	assert.ErrorContains(t, err, "line 1")
}

func TestName(t *testing.T) {
	for in, want := range map[string]string{"a/virtio-net.ko": "virtio_net", "x.ko.xz": "x", "ext4": "ext4"} {
		assert.Equal(t, want, Name(in))
	}
}

func FuzzParseDep(f *testing.F) {
	f.Add(sampleDep)
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDep(strings.NewReader(s))
		if err != nil {
			return
		}
		for name := range d.byName {
			d.Order(name) // must terminate without panicking, cycles included
		}
	})
}
