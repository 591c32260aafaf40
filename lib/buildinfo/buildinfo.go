// Package buildinfo holds the version stamped into the binary at link time.
package buildinfo

// Version is set with -ldflags "-X pantavisor/lib/buildinfo.Version=...".
var Version = "dev"
