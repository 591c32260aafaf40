package ctrl

import (
	"errors"

	"pantavisor/lib/config"
	"pantavisor/lib/printf"
	"pantavisor/lib/pvs"
	"pantavisor/lib/rawjson"
	"pantavisor/lib/sentinel"
)

// TrustDir is where a device's trust stores are (PV_SECUREBOOT_TRUSTSTORE
// and PV_SECUREBOOT_OEM_TRUSTSTORE name files in it, with ".crt").
const TrustDir = pvs.TrustDir

// stateSlots is how many uploaded states PUT /steps holds in memory at once.
const stateSlots = 2

// errSecureboot marks a state the secure-boot mode refuses; it wraps
// pvs.ErrValidation or pvs.ErrNotCovered.
var errSecureboot error = &sentinel.Error{Text: "Secureboot"} //nolint:staticcheck // upstream's prefix

// secureboot checks the signatures of an uploaded state under the
// configured PV_SECUREBOOT_MODE, trust stores and PV_OEM_NAME. A state
// that is not a JSON object is left to the parser (its own 422). In audit mode the
// uncovered keys are logged.
func (s *Server) secureboot(data []byte) error {
	c := s.cfg()
	mode, err := pvs.ParseMode(c.Get(config.SecurebootMode).String())
	if err != nil {
		return printf.Errorf("%w: %w", errSecureboot, err)
	}
	if mode == pvs.Disabled {
		return nil
	}
	v, err := rawjson.Parse(data)
	if err != nil || v.Kind != rawjson.Object {
		return nil // not a state: the parser answers
	}
	dir := s.TrustDir
	if dir == "" {
		dir = TrustDir
	}
	trust, err := pvs.LoadTrust(dir, c.Get(config.SecurebootTruststore).String()+".crt",
		c.Get(config.SecurebootOEMTruststore).String()+".crt")
	if err != nil {
		return printf.Errorf("%w: %w: %w", errSecureboot, pvs.ErrValidation, err)
	}
	trust.OEMName = c.Get(config.OEMName).String()
	res, err := pvs.Check(v, pvs.Options{Mode: mode, Trust: trust})
	if res.ClockUntrusted {
		s.logf(printf.Sprintf("secureboot: clock before the build date, certificate dates checked as of %s", res.At.UTC().Format("2006-01-02T15:04:05Z")))
	}
	if err != nil {
		return printf.Errorf("%w: %w", errSecureboot, err)
	}
	for _, k := range res.Uncovered {
		s.logf("secureboot: audit: " + k + ": " + pvs.ErrNotCovered.Error())
	}
	return nil
}

// secureReason is the text of a 422 for err (from secureboot): upstream's
// "Secureboot: <reason>" with the constant reason; details go to the log.
func secureReason(err error) string {
	if errors.Is(err, pvs.ErrNotCovered) {
		return "Secureboot: " + pvs.ErrNotCovered.Error()
	}
	return "Secureboot: " + pvs.ErrValidation.Error()
}
