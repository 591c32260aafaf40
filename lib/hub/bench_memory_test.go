package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"pantavisor/lib/hub/fetch"
	"pantavisor/lib/hub/hubhttp"
	"pantavisor/lib/storage"
)

// memChildEnv names the variable that makes the test binary the child of
// BenchmarkDownloadMemory: its value is a memJob in JSON.
const memChildEnv = "PV_BENCH_HUB_MEMORY_CHILD"

// memObjectSize is the object BenchmarkDownloadMemory fetches: 200 MiB.
const memObjectSize = 200 << 20

// TestMain serves BenchmarkDownloadMemory's child (a clean process whose
// peak RSS is the download's) before any test runs.
func TestMain(m *testing.M) {
	if job := os.Getenv(memChildEnv); job != "" {
		os.Exit(memChild(job, os.Stdout))
	}
	os.Exit(m.Run())
}

// memJob is the child's download: the object and where its hub and
// storage are.
type memJob struct {
	Want   fetch.Want
	Host   string
	Port   int
	CAFile string
	Dir    string // the storage
}

// memResult is what the child measured (KiB, /proc/self/status; bytes,
// runtime.MemStats) before the download and after it, or at its peak.
type memResult struct {
	HWMBefore, HWMAfter  int64 // VmHWM after resetting it, and after the download
	RSSBefore            int64 // VmRSS
	AnonBefore, AnonPeak int64 // RssAnon, the peak sampled every few ms during the download
	FileBefore, FilePeak int64 // RssFile (the binary's pages, shared with other processes)
	SysBefore, SysAfter  uint64
	Alloc                uint64 // bytes allocated by the download (MemStats.TotalAlloc)
	HeapSysBefore        uint64
	HeapSysAfter         uint64
	ResetHWM             bool // writing 5 to /proc/self/clear_refs worked
}

// memChild runs job (JSON) in this process and writes a memResult to out
// as JSON; it returns the exit code. Steps: open the storage and build
// the client; GOGC 50 as on the device; warm up with one TLS request for the object's last byte
// (as the main loop is warm from its polls of the hub); collect garbage
// and give it back to the OS; reset the peak RSS; read the figures;
// fetch while sampling RssAnon and RssFile; read them again.
func memChild(job string, out io.Writer) int {
	var j memJob
	if err := json.Unmarshal([]byte(job), &j); err != nil {
		fmt.Fprintf(os.Stderr, "memory child: job: %v\n", err)
		return 2
	}
	st, err := storage.Open(j.Dir, storage.Options{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "memory child: %v\n", err)
		return 1
	}
	client := hubhttp.Client{Host: j.Host, Port: j.Port, CAFile: j.CAFile, Timeout: time.Minute}
	f := &fetch.Fetcher{Storage: st, Getter: Getter{Client: &client}}
	if err := warmUp(&client, j.Want); err != nil {
		fmt.Fprintf(os.Stderr, "memory child: warming up: %v\n", err)
		return 1
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50) // as the device's main loop (applets/pantavisor)
	}
	var res memResult
	runtime.GC()
	debug.FreeOSMemory()
	res.ResetHWM = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	res.HWMBefore, res.RSSBefore, res.AnonBefore, res.FileBefore, res.SysBefore, res.HeapSysBefore, res.Alloc = memNow()
	stop, peaks := sampleRSS()
	err = f.Fetch(context.Background(), j.Want, nil)
	close(stop)
	p := <-peaks
	res.AnonPeak, res.FilePeak = p[0], p[1]
	var alloc uint64
	res.HWMAfter, _, _, _, res.SysAfter, res.HeapSysAfter, alloc = memNow()
	res.Alloc = alloc - res.Alloc
	if err != nil {
		fmt.Fprintf(os.Stderr, "memory child: %v\n", err)
		return 1
	}
	if !st.HasObject(j.Want.SHA) {
		fmt.Fprintf(os.Stderr, "memory child: object %s not installed\n", j.Want.SHA)
		return 1
	}
	if err := json.NewEncoder(out).Encode(res); err != nil {
		fmt.Fprintf(os.Stderr, "memory child: %v\n", err)
		return 1
	}
	return 0
}

// warmUp asks for the last byte of w with client and reads it.
func warmUp(client *hubhttp.Client, w fetch.Want) error {
	d, err := client.GetURL(context.Background(), w.URL, w.Size-1)
	if err != nil {
		return err
	}
	defer d.Body.Close()
	_, err = io.Copy(io.Discard, d.Body)
	return err
}

// sampleRSS reads RssAnon and RssFile every 2 ms until stop is closed,
// then sends their peaks (KiB; -1 when unreadable) on the channel it
// returned. It allocates nothing per sample.
func sampleRSS() (stop chan struct{}, peaks chan [2]int64) {
	stop, peaks = make(chan struct{}), make(chan [2]int64, 1)
	go func() {
		var p [2]int64
		var buf [4096]byte
		f, err := os.Open("/proc/self/status")
		if err != nil {
			peaks <- [2]int64{-1, -1}
			return
		}
		defer f.Close()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			if n, err := f.ReadAt(buf[:], 0); n > 0 && (err == nil || err == io.EOF) {
				p[0] = max(p[0], statusKiB(buf[:n], "RssAnon:"))
				p[1] = max(p[1], statusKiB(buf[:n], "RssFile:"))
			}
			select {
			case <-stop:
				peaks <- p
				return
			case <-t.C:
			}
		}
	}()
	return stop, peaks
}

// memNow returns VmHWM, VmRSS, RssAnon and RssFile (KiB; -1 when
// unreadable) and the Go runtime's Sys, HeapSys and TotalAlloc (bytes).
func memNow() (hwm, rss, anon, file int64, sys, heapSys, alloc uint64) {
	hwm, rss, anon, file = -1, -1, -1, -1
	if data, err := os.ReadFile("/proc/self/status"); err == nil {
		hwm, rss = statusKiB(data, "VmHWM:"), statusKiB(data, "VmRSS:")
		anon, file = statusKiB(data, "RssAnon:"), statusKiB(data, "RssFile:")
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return hwm, rss, anon, file, ms.Sys, ms.HeapSys, ms.TotalAlloc
}

// statusKiB reads the "<key> <n> kB" line of /proc/<pid>/status; -1 when
// there is none. It allocates nothing (the sampler calls it while the
// download runs).
func statusKiB(status []byte, key string) int64 {
	for line := range bytes.Lines(status) {
		rest, ok := bytes.CutPrefix(line, []byte(key))
		if !ok {
			continue
		}
		rest = bytes.TrimSpace(rest)
		num, ok := bytes.CutSuffix(rest, []byte(" kB"))
		if !ok || len(num) == 0 {
			return -1
		}
		var n int64
		for _, c := range num {
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int64(c-'0')
		}
		return n
	}
	return -1
}

func TestStatusKiB(t *testing.T) {
	status := []byte("Name:\tx\nVmPeak:\t 1000 kB\nVmHWM:\t    5120 kB\nVmRSS:\t    4096 kB\nThreads:\t3\n")
	require.Equal(t, int64(5120), statusKiB(status, "VmHWM:"))
	require.Equal(t, int64(4096), statusKiB(status, "VmRSS:"))
	require.Equal(t, int64(-1), statusKiB(status, "VmSwap:"))
	require.Equal(t, int64(-1), statusKiB([]byte("VmHWM: lots kB\n"), "VmHWM:"))
	require.Equal(t, int64(-1), statusKiB([]byte("VmHWM: 12 MB\n"), "VmHWM:"))
	require.Equal(t, int64(7), statusKiB([]byte("VmHWM:\t7 kB"), "VmHWM:"), "last line without newline")
	require.Zero(t, testing.AllocsPerRun(10, func() { statusKiB(status, "VmRSS:") }))
}

// BenchmarkDownloadMemory measures what a 200 MiB download adds to a
// process's memory: the test binary runs again as a child (TestMain) that
// fetches the object from the fake hub (in this process) into a fresh
// storage with fetch.Fetcher over Getter over hubhttp, after one warm-up
// TLS request (see memChild). Reported, the worst of b.N children, in
// KiB: the growth of the peak RSS (VmHWM, reset just before the
// download), split into anonymous memory and file pages (RssAnon and
// RssFile sampled every 2 ms: the file pages are the binary's code,
// shared with PID 1 on the device), the growth of the Go runtime's Sys,
// the RSS before, and what the download allocated in all (garbage the
// heap grows by until a collection). The object streams to disk, so the goal is an
// anonymous growth well under 1 MiB (the main loop's landed goal is 6 MiB
// of Pss in all).
func BenchmarkDownloadMemory(b *testing.B) {
	r := newRig(b, nil, "", true)
	r.idle()
	job := memJob{Want: benchObject(b, r, memObjectSize), Host: r.hub.Host(), Port: r.hub.Port(), CAFile: r.hub.CAFile()}
	runtime.GC()
	debug.FreeOSMemory()
	var hwm, anon, file, sys, rss, alloc int64
	resets := true
	for i := range b.N {
		job.Dir = filepath.Join(b.TempDir(), fmt.Sprint("storage", i))
		res := runMemChild(b, job)
		require.Positive(b, res.HWMBefore, "no VmHWM in /proc/self/status")
		require.Positive(b, res.AnonBefore, "no RssAnon in /proc/self/status")
		hwm = max(hwm, res.HWMAfter-res.HWMBefore)
		anon = max(anon, res.AnonPeak-res.AnonBefore)
		file = max(file, res.FilePeak-res.FileBefore)
		sys = max(sys, int64(res.SysAfter)-int64(res.SysBefore))
		alloc = max(alloc, int64(res.Alloc))
		rss = max(rss, res.RSSBefore)
		resets = resets && res.ResetHWM
		require.NoError(b, os.RemoveAll(job.Dir))
	}
	if !resets {
		b.Logf("bench-hub: memory: /proc/self/clear_refs refused: the peak RSS growth is measured from the child's earlier peak")
	}
	b.ReportMetric(float64(hwm), "KiB-peak-rss-growth")
	b.ReportMetric(float64(anon), "KiB-peak-anon-growth")
	b.ReportMetric(float64(file), "KiB-peak-file-growth")
	b.ReportMetric(float64(sys)/1024, "KiB-go-sys-growth")
	b.ReportMetric(float64(rss), "KiB-rss-before")
	b.ReportMetric(float64(alloc)/1024, "KiB-allocated")
}

// runMemChild runs the test binary as the memory child for job.
func runMemChild(b *testing.B, job memJob) memResult {
	b.Helper()
	data, err := json.Marshal(job)
	require.NoError(b, err)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), memChildEnv+"="+string(data))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(b, err, "memory child: %s", stderr.String())
	var res memResult
	require.NoError(b, json.Unmarshal(out, &res), "memory child's output %q", out)
	return res
}
