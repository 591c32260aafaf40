package pvtx

import (
	"os"

	"pantavisor/lib/printf"
	"pantavisor/lib/pvs"
	"pantavisor/lib/pvtx"
)

// Environment of the signature check of commit and deploy. pvtx runs
// without the device's configuration, so it reads the configuration keys
// of the same names from its environment.
const (
	envMode     = "PV_SECUREBOOT_MODE"           // disabled | audit | lenient (default) | strict
	envTrustDir = "PVTX_TRUST_DIR"               // default pvs.TrustDir
	envCA       = "PV_SECUREBOOT_TRUSTSTORE"     // default "ca-certificates" (+ ".crt")
	envOEMCA    = "PV_SECUREBOOT_OEM_TRUSTSTORE" // default "ca-oem-certificates" (+ ".crt")
	envOEMName  = "PV_OEM_NAME"                  // default none: no OEM signatures
)

// secureboot returns the signature check commit and deploy apply, or nil
// for none. Upstream pvtx checks no signatures, and a state signed by a
// CA this machine does not trust (upstream's own test states, a build
// host without a trust store) must keep working there, so the check is
// on only when asked for or when this is a device: PV_SECUREBOOT_MODE or
// PVTX_TRUST_DIR is set, or the trust directory (PVTX_TRUST_DIR, else
// a.trustDir) exists. The mode is PV_SECUREBOOT_MODE, lenient by default
// as on the device; "disabled" turns the check off. A trust store that
// does not parse is an error (errors wrap pvtx.ErrSecureboot).
func (a *app) secureboot() (*pvs.Options, error) {
	modeName, dir := a.getenv(envMode), a.getenv(envTrustDir)
	asked := modeName != "" || dir != ""
	if dir == "" {
		dir = a.trustDir
	}
	if !asked && !isDir(dir) {
		return nil, nil
	}
	mode := pvs.Lenient
	if modeName != "" {
		var err error
		if mode, err = pvs.ParseMode(modeName); err != nil {
			return nil, printf.Errorf("%w: %s: %w", pvtx.ErrSecureboot, envMode, err)
		}
	}
	if mode == pvs.Disabled {
		return nil, nil
	}
	trust, err := pvs.LoadTrust(dir, a.envOr(envCA, "ca-certificates")+".crt", a.envOr(envOEMCA, "ca-oem-certificates")+".crt")
	if err != nil {
		return nil, printf.Errorf("%w: trust stores in %s: %w", pvtx.ErrSecureboot, dir, err)
	}
	trust.OEMName = a.getenv(envOEMName)
	return &pvs.Options{Mode: mode, Trust: trust}, nil
}

// setSecureboot arms tx's signature check for command cmd: the options
// of secureboot, and a report that prints audit mode's uncovered keys
// and an untrusted clock as warnings on stderr.
func (a *app) setSecureboot(cmd string, tx *pvtx.Txn) error {
	opts, err := a.secureboot()
	if err != nil || opts == nil {
		return err
	}
	tx.Secureboot = opts
	tx.Report = func(res pvs.Result) {
		if res.ClockUntrusted {
			printf.Fprintf(a.stderr, "WARNING: %s: Secureboot: clock before the build date, certificate dates checked as of %s\n",
				cmd, res.At.UTC().Format("2006-01-02T15:04:05Z"))
		}
		for _, k := range res.Uncovered {
			printf.Fprintf(a.stderr, "WARNING: %s: Secureboot: audit: %s: %v\n", cmd, k, pvs.ErrNotCovered)
		}
	}
	return nil
}

func (a *app) envOr(key, def string) string {
	if v := a.getenv(key); v != "" {
		return v
	}
	return def
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}
