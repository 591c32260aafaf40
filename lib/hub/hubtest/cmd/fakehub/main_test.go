package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBadUsage(t *testing.T) {
	var errb strings.Builder
	assert.Equal(t, 2, run([]string{"fakehub", "-nope"}, io.Discard, &errb, nil))
	assert.Contains(t, errb.String(), "-nope")
	assert.Equal(t, 2, run([]string{"fakehub", "extra"}, io.Discard, io.Discard, nil))
	assert.Equal(t, 1, run([]string{"fakehub", "-certdir", "/nonexistent/dir"}, io.Discard, io.Discard, nil))
}

// TestRun starts the command, reads its two lines and connects with the
// CA it names under an extra certificate name.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	pr, pw := io.Pipe()
	stop := make(chan struct{})
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"fakehub", "-certdir", dir, "-san", "10.0.2.2,hub.test"}, pw, io.Discard, stop)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	require.True(t, sc.Scan())
	assert.Equal(t, "ca "+filepath.Join(dir, "ca.pem"), sc.Text())
	require.True(t, sc.Scan())
	addr, ok := strings.CutPrefix(sc.Text(), "addr ")
	require.True(t, ok, sc.Text())
	go io.Copy(io.Discard, pr)

	pem, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pem))
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "10.0.2.2"})
	require.NoError(t, err)
	conn.Close()

	close(stop)
	select {
	case code := <-done:
		assert.Equal(t, 0, code)
	case <-time.After(5 * time.Second):
		t.Fatal("fakehub did not stop")
	}
	_, err = os.Stat(filepath.Join(dir, "ca.pem"))
	assert.NoError(t, err, "a given cert dir is kept")
}
