// Package proto builds the request bodies the device sends to Pantacor Hub
// and parses the hub's answers, byte-compatible with upstream Pantavisor
// (see shared/reference/pantahub-protocol.md).
//
// Every function is pure: no network, no clock, and no encoding/json. Parsers
// take the whole answer body (the transport bounds it at 2 MiB), refuse what
// the device cannot act on with an error wrapping ErrAnswer, and copy what
// they return, so the body buffer can be reused. Builders append to a []byte
// and return it, as rawjson.AppendString does.
//
// Values that end up in a request line or header (the device id, a token,
// a signed URL's path) are checked here for bytes that could split the
// request (space, control characters), because these values come from the
// hub.
package proto
