// Package hubhttp is the Pantacor Hub client's HTTPS transport: one
// verified TLS connection per request, HTTP/1.1 through lib/http1, an
// optional HTTP CONNECT proxy, bounded response bodies and resumable
// object downloads. It uses crypto/tls but not net/http, and only the
// full build links it (its callers carry the !nohub build tag).
//
// Upstream's async client (event/event_rest.c) does not verify the hub's
// certificate; this one does, against Client.CAFile, unless
// Client.Insecure is set.
package hubhttp
