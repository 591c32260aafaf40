package pantavisor

import (
	"errors"
	"io"
	"strings"
	"time"

	"pantavisor/lib/printf"
	"pantavisor/lib/pvs"
	"pantavisor/lib/rawjson"
)

// sigOptions are validate's signature flags as typed.
type sigOptions struct {
	trust, mode, at, oem string
}

// options returns the pvs options the flags ask for, or nil when
// signatures are not to be checked (neither --trust nor --secureboot).
func (o sigOptions) options() (*pvs.Options, error) {
	if o.trust == "" && o.mode == "" {
		if o.at != "" || o.oem != "" {
			return nil, errors.New("--at and --oem need --trust")
		}
		return nil, nil
	}
	var opts pvs.Options
	if o.mode != "" {
		m, err := pvs.ParseMode(o.mode)
		if err != nil {
			return nil, err
		}
		opts.Mode = m
	}
	if o.at != "" {
		t, err := time.Parse(time.RFC3339, o.at)
		if err != nil {
			return nil, printf.Errorf("--at: %w", err)
		}
		opts.At = t
	}
	if o.trust != "" {
		tr, err := pvs.LoadTrust(o.trust, pvs.CAFile, pvs.OEMCAFile)
		if err != nil {
			return nil, err
		}
		opts.Trust = tr
	}
	opts.Trust.OEMName = o.oem
	return &opts, nil
}

// checkSignatures runs pvs.Check on the state and prints one line per
// signature, the uncovered keys and the verdict.
func checkSignatures(data []byte, opts pvs.Options, stdout io.Writer) error {
	v, err := rawjson.Parse(data)
	if err != nil {
		return err
	}
	res, err := pvs.Check(v, opts)
	var b strings.Builder
	for _, s := range res.Sigs {
		if s.Err != nil {
			printf.Fprintf(&b, "signature %s: %s\n", word(s.Name), oneLine(s.Err.Error()))
			continue
		}
		chain := make([]string, len(s.Chain))
		for i, cn := range s.Chain {
			chain[i] = word(cn)
		}
		printf.Fprintf(&b, "signature %s: ok %s keys=%d chain=%s\n", word(s.Name), word(s.Alg), s.Keys, strings.Join(chain, ","))
	}
	for _, k := range res.Uncovered {
		printf.Fprintf(&b, "uncovered: %s\n", word(k))
	}
	if res.ClockUntrusted {
		printf.Fprintf(&b, "warning: clock before the build date: certificate dates checked as of %s\n", res.At.UTC().Format(time.RFC3339))
	}
	verdict := "ok"
	if err != nil {
		verdict = "refused"
	}
	printf.Fprintf(&b, "secureboot: %s %s\n", opts.Mode, verdict)
	printf.Fprint(stdout, b.String())
	if err != nil {
		return printf.Errorf("Secureboot: %w", err) //nolint:staticcheck // upstream's prefix
	}
	return nil
}
