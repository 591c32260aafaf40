package cgroup

import (
	"strconv"
	"strings"

	"pantavisor/lib/printf"
)

// v1ToV2 maps the v1 keys that have an unambiguous cgroup2 equivalent.
// The conversion formulas are the ones the OCI runtimes use for the same
// keys. Every other v1 key is refused with ErrNoV2Equivalent.
var v1ToV2 = []struct {
	v1, v2 string
	conv   func(value, cur string) (string, error)
}{
	{"memory.limit_in_bytes", "memory.max", unlimited},
	{"pids.max", "pids.max", same},
	{"cpu.shares", "cpu.weight", sharesToWeight},
	{"cpu.cfs_quota_us", "cpu.max", quotaToMax},
	{"cpu.cfs_period_us", "cpu.max", periodToMax},
	{"cpuset.cpus", "cpuset.cpus", same},
	{"cpuset.mems", "cpuset.mems", same},
	{"blkio.weight", "io.weight", blkioToIOWeight},
}

// translate returns the cgroup2 key and value for a v1 key. cur reads the
// group's current value of a cgroup2 file; it is only called for cpu.max,
// which holds quota and period together.
func translate(key, value string, cur func(string) (string, error)) (string, string, error) {
	for _, t := range v1ToV2 {
		if t.v1 != key {
			continue
		}
		var old string
		if t.v2 == "cpu.max" {
			var err error
			if old, err = cur(t.v2); err != nil {
				return "", "", err
			}
		}
		v, err := t.conv(value, strings.TrimSpace(old))
		if err != nil {
			return "", "", printf.Errorf("translate to %s: %w", t.v2, err)
		}
		return t.v2, v, nil
	}
	return "", "", printf.Errorf("%w: %s", ErrNoV2Equivalent, key)
}

func same(v, _ string) (string, error) { return v, nil }

// unlimited maps v1's -1 to cgroup2's "max".
func unlimited(v, _ string) (string, error) {
	if v == "-1" {
		return "max", nil
	}
	return v, nil
}

// sharesToWeight maps cpu.shares [2, 262144] linearly onto cpu.weight
// [1, 10000] (1024 shares, the v1 default, gives 39).
func sharesToWeight(v, _ string) (string, error) {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return "", printf.Errorf("cpu.shares %q: %w", v, err)
	}
	n = min(max(n, 2), 262144)
	return strconv.FormatUint(1+(n-2)*9999/262142, 10), nil
}

// blkioToIOWeight maps blkio.weight [10, 1000] linearly onto io.weight
// [1, 10000] as the default weight.
func blkioToIOWeight(v, _ string) (string, error) {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return "", printf.Errorf("blkio.weight %q: %w", v, err)
	}
	n = min(max(n, 10), 1000)
	return "default " + strconv.FormatUint(1+(n-10)*9999/990, 10), nil
}

// quotaToMax sets the quota half of cpu.max ("$QUOTA $PERIOD"); -1 is "max".
func quotaToMax(v, cur string) (string, error) {
	if v != "-1" {
		if _, err := strconv.ParseUint(v, 10, 64); err != nil {
			return "", printf.Errorf("cpu.cfs_quota_us %q: %w", v, err)
		}
	} else {
		v = "max"
	}
	_, period := splitCPUMax(cur)
	return v + " " + period, nil
}

// periodToMax sets the period half of cpu.max, keeping the quota.
func periodToMax(v, cur string) (string, error) {
	if n, err := strconv.ParseUint(v, 10, 64); err != nil || n == 0 {
		return "", printf.Errorf("cpu.cfs_period_us %q: not a positive integer", v)
	}
	quota, _ := splitCPUMax(cur)
	return quota + " " + v, nil
}

// splitCPUMax splits a cpu.max value, defaulting to "max 100000".
func splitCPUMax(cur string) (quota, period string) {
	quota, period, _ = strings.Cut(cur, " ")
	if quota == "" {
		quota = "max"
	}
	if period == "" {
		period = "100000"
	}
	return quota, period
}
