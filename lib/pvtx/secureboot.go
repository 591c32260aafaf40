package pvtx

import (
	"pantavisor/lib/printf"
	"pantavisor/lib/pvs"
	"pantavisor/lib/rawjson"
	"pantavisor/lib/sentinel"
)

// ErrSecureboot marks a state Commit or Deploy refused because of its
// signatures; it wraps pvs.ErrValidation or pvs.ErrNotCovered, so the
// message reads "Secureboot: <upstream's reason>: <detail>" as pv-ctrl's
// 422 does.
var ErrSecureboot error = &sentinel.Error{Text: "Secureboot"} //nolint:staticcheck // upstream's prefix

// secureboot checks the signatures of state (the transaction's JSON)
// under t.Secureboot; nil Secureboot checks nothing (upstream pvtx). The
// result, also of a refused state, goes to t.Report when set.
func (t *Txn) secureboot(state []byte) error {
	if t.Secureboot == nil {
		return nil
	}
	v, err := rawjson.Parse(state)
	if err != nil {
		return printf.Errorf("%w: %w: %w", ErrSecureboot, pvs.ErrValidation, err)
	}
	res, err := pvs.Check(v, *t.Secureboot)
	if t.Report != nil {
		t.Report(res)
	}
	if err != nil {
		return printf.Errorf("%w: %w", ErrSecureboot, err)
	}
	return nil
}
