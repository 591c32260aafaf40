// Package buildinfo holds the version stamped into the binary at link time.
package buildinfo

// Version is set with -ldflags "-X pantavisor/lib/buildinfo.Version=...".
var Version = "dev"

// Date is the build date in RFC 3339, set with
// -ldflags "-X pantavisor/lib/buildinfo.Date=2026-12-01T00:00:00Z"; empty
// when not stamped. lib/pvs trusts the clock only once it is later.
var Date = ""
