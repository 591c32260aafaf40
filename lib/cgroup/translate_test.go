package cgroup

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTranslate(t *testing.T) {
	tests := []struct {
		key, value, cur string
		wantKey, want   string
		err             bool
	}{
		{"memory.limit_in_bytes", "268435456", "", "memory.max", "268435456", false},
		{"memory.limit_in_bytes", "256M", "", "memory.max", "256M", false},
		{"memory.limit_in_bytes", "-1", "", "memory.max", "max", false},
		{"pids.max", "max", "", "pids.max", "max", false},
		{"pids.max", "10", "", "pids.max", "10", false},
		{"cpu.shares", "2", "", "cpu.weight", "1", false},
		{"cpu.shares", "1024", "", "cpu.weight", "39", false},
		{"cpu.shares", "262144", "", "cpu.weight", "10000", false},
		{"cpu.shares", "1", "", "cpu.weight", "1", false},
		{"cpu.shares", "999999", "", "cpu.weight", "10000", false},
		{"cpu.shares", "-5", "", "", "", true},
		{"cpu.cfs_quota_us", "50000", "max 100000", "cpu.max", "50000 100000", false},
		{"cpu.cfs_quota_us", "-1", "50000 20000", "cpu.max", "max 20000", false},
		{"cpu.cfs_quota_us", "25000", "", "cpu.max", "25000 100000", false},
		{"cpu.cfs_quota_us", "x", "max 100000", "", "", true},
		{"cpu.cfs_period_us", "20000", "50000 100000", "cpu.max", "50000 20000", false},
		{"cpu.cfs_period_us", "20000", "", "cpu.max", "max 20000", false},
		{"cpu.cfs_period_us", "0", "max 100000", "", "", true},
		{"cpuset.cpus", "0-3", "", "cpuset.cpus", "0-3", false},
		{"cpuset.mems", "0", "", "cpuset.mems", "0", false},
		{"blkio.weight", "10", "", "io.weight", "default 1", false},
		{"blkio.weight", "500", "", "io.weight", "default 4950", false},
		{"blkio.weight", "1000", "", "io.weight", "default 10000", false},
		{"blkio.weight", "heavy", "", "", "", true},
	}
	for _, tt := range tests {
		key, v, err := translate(tt.key, tt.value, func(k string) (string, error) {
			assert.Equal(t, "cpu.max", k, "only cpu.max is read back")
			return tt.cur + "\n", nil
		})
		if tt.err {
			assert.Error(t, err, "%s=%s", tt.key, tt.value)
			assert.False(t, errors.Is(err, ErrNoV2Equivalent))
			continue
		}
		require.NoError(t, err, "%s=%s", tt.key, tt.value)
		assert.Equal(t, tt.wantKey, key, tt.key)
		assert.Equal(t, tt.want, v, "%s=%s", tt.key, tt.value)
	}
}

func TestTranslateRefuses(t *testing.T) {
	for _, key := range []string{"memory.memsw.limit_in_bytes", "memory.soft_limit_in_bytes", "memory.swappiness", "net_cls.classid", "cpuacct.usage", "freezer.state", "cpu.rt_runtime_us", "bogus"} {
		_, _, err := translate(key, "1", nil)
		assert.ErrorIs(t, err, ErrNoV2Equivalent, key)
		assert.ErrorContains(t, err, key)
	}
}

func TestTranslateEveryEntryTested(t *testing.T) {
	// Each row of v1ToV2 must have a row in TestTranslate (habit 7): this
	// fails when an entry is added without one.
	covered := map[string]bool{"memory.limit_in_bytes": true, "pids.max": true, "cpu.shares": true, "cpu.cfs_quota_us": true,
		"cpu.cfs_period_us": true, "cpuset.cpus": true, "cpuset.mems": true, "blkio.weight": true}
	for _, e := range v1ToV2 {
		assert.True(t, covered[e.v1], e.v1)
	}
	assert.Len(t, v1ToV2, len(covered))
}

func TestTranslateReadError(t *testing.T) {
	_, _, err := translate("cpu.cfs_quota_us", "1", func(string) (string, error) { return "", errors.New("boom") })
	assert.ErrorContains(t, err, "boom")
}
