package debugshell

import (
	"pantavisor/lib/config"
)

// FromConfig returns the embedded device's debug shell as the
// configuration says: nil (and the console never read) unless
// PV_DEBUG_SHELL is on; PV_DEBUG_SHELL_AUTOLOGIN and
// PV_DEBUG_SHELL_TIMEOUT as Options say. It reads /dev/console and opens
// shells in the container mgmt names at each Enter.
func FromConfig(cfg *config.Config, view *View, mgmt func() string) (*Shell, error) {
	if !cfg.Get(config.DebugShell).Bool() {
		return nil, nil
	}
	con, err := OpenConsole("")
	if err != nil {
		return nil, err
	}
	return New(Options{Console: con, View: view, Start: Command{Container: mgmt}.Start,
		Timeout: cfg.Get(config.DebugShellTimeout).Duration(), Autologin: cfg.Get(config.DebugShellAutologin).Bool()}), nil
}
