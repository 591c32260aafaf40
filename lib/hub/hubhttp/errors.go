package hubhttp

import (
	"strconv"

	"pantavisor/lib/sentinel"
)

var (
	// ErrNoResponse is the class of every failure that got no HTTP
	// response: dial, proxy, TLS handshake, write or read of the head,
	// timeout. The hub client counts these toward "offline". Errors of
	// this class are *NetError.
	ErrNoResponse error = &sentinel.Error{Text: "hubhttp: no response"}

	// ErrBodyTooLarge is a response body over the caller's limit.
	ErrBodyTooLarge error = &sentinel.Error{Text: "hubhttp: response body too large"}

	// ErrHTTPSMandatory is a signed URL whose scheme is not https.
	ErrHTTPSMandatory error = &sentinel.Error{Text: "hubhttp: https is mandatory"}

	// ErrBadURL is a signed URL that does not parse or has no host.
	ErrBadURL error = &sentinel.Error{Text: "hubhttp: bad url"}

	// ErrBadRange is a 206 whose Content-Range is missing, malformed or
	// does not start at the requested offset.
	ErrBadRange error = &sentinel.Error{Text: "hubhttp: bad content-range"}

	// ErrUnauthorized matches a *StatusError with status 401: the hub
	// refused the token.
	ErrUnauthorized error = &sentinel.Error{Text: "hubhttp: unauthorized"}

	// ErrProxy is a proxy that refused or garbled the CONNECT.
	ErrProxy error = &sentinel.Error{Text: "hubhttp: proxy refused connect"}
)

// NetError is a request that got no HTTP response. Op names the request
// ("GET /devices/" or "GET object"), Addr the host:port it went to; the
// cause is Err. errors.Is(err, ErrNoResponse) is true. It never holds
// header values, so no token or credential reaches its text.
type NetError struct {
	Op   string
	Addr string
	Err  error
}

func (e *NetError) Error() string { return "hubhttp: " + e.Op + " " + e.Addr + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *NetError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrNoResponse) true.
func (e *NetError) Is(target error) bool { return target == ErrNoResponse }

// StatusError is a response with a status the caller did not accept: the
// hub answered (the hub client counts it as online).
// errors.Is(err, ErrUnauthorized) is true for 401.
type StatusError struct {
	Op     string // "GET /devices/" or "GET object"
	Status int
}

func (e *StatusError) Error() string {
	return "hubhttp: " + e.Op + ": status " + strconv.Itoa(e.Status)
}

// Is makes errors.Is(err, ErrUnauthorized) true for a 401.
func (e *StatusError) Is(target error) bool { return target == ErrUnauthorized && e.Status == 401 }
