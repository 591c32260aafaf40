// Package hubtest is a fake Pantacor Hub for tests: the device endpoints of
// pantahub-base over TLS with a generated test CA, every request recorded,
// and fault hooks (forced 401, dropped or corrupt object downloads, a slow
// link, refused or hung connections, drops while a step is in a given status).
//
// It follows §7 of ../shared/reference/pantahub-protocol.md. It is test
// support code: it uses net/http and must never be imported by the device
// binary (go list -deps ./dispatch | grep hubtest prints nothing).
package hubtest
