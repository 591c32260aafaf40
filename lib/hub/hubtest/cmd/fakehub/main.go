// Command fakehub runs the hubtest fake Pantacor Hub on the host, for
// tests that drive a device from outside Go (a QEMU guest).
//
// Synopsis:
//
//	fakehub [-addr 127.0.0.1:12366] [-certdir DIR] [-san NAME,…] [-public HOST:PORT] [-autotok TOKEN]
//
// Options:
//
//	-addr     address to listen on (default 127.0.0.1:0, a free port)
//	-certdir  directory that receives ca.pem (default: a temporary one)
//	-san      extra IPs or DNS names for the server certificate, comma
//	          separated (e.g. 10.0.2.2 for a QEMU user-network guest)
//	-public   host:port written into signed object URLs (default: the
//	          request's Host and the listening port)
//	-autotok  factory auto-token accepted at registration
//
// On start it prints two lines to stdout, "ca <path of ca.pem>" and
// "addr <host:port>", then serves until SIGINT or SIGTERM.
//
// Exit codes: 0 after a signal, 2 on bad usage, 1 if the hub cannot start.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"pantavisor/lib/hub/hubtest"
)

func main() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	stop := make(chan struct{})
	go func() { <-sig; close(stop) }()
	os.Exit(run(os.Args, os.Stdout, os.Stderr, stop))
}

// run serves the hub until stop is closed and returns the exit code.
func run(args []string, stdout, stderr io.Writer, stop <-chan struct{}) int {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o hubtest.Options
	var sans string
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:0", "address to listen on")
	fs.StringVar(&o.CertDir, "certdir", "", "directory for ca.pem (default: temporary)")
	fs.StringVar(&sans, "san", "", "extra certificate names, comma separated")
	fs.StringVar(&o.PublicAddr, "public", "", "host:port for signed object URLs")
	fs.StringVar(&o.AutoToken, "autotok", "", "factory auto-token accepted at registration")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 0 {
		return 2
	}
	if sans != "" {
		o.Names = strings.Split(sans, ",")
	}
	h, err := hubtest.New(o)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", args[0], err)
		return 1
	}
	if err := h.Start(); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", args[0], errors.Join(err, h.Close()))
		return 1
	}
	fmt.Fprintf(stdout, "ca %s\naddr %s\n", h.CAFile(), h.Addr())
	<-stop
	if err := h.Close(); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", args[0], err)
		return 1
	}
	return 0
}
