// Package config holds Pantavisor's configuration keys and the levels that
// set them, and tells which value is in effect.
//
// # Levels
//
// From lowest to highest: DEFAULT, ARGS, PV_CONF (/etc/pantavisor.config),
// PH_CONF (pantahub.config), PH_CLIENT, POLICY (policies/<PV_POLICY>.config),
// OEM (<PV_OEM_NAME>/<PV_POLICY|default>.config in the revision), PV_CMDLINE
// (pv_<key>=v), PH_CMDLINE (ph_<key>=v), ENV (PV_*, PH_*), META (user
// metadata) and CMD (control commands). Each level keeps its own value, and
// the highest level that set a key wins, whatever the order of loading; a
// level can be unset again (Unset, Reset), which uncovers the value below.
// Upstream instead keeps one value that the last writer overwrites; the two
// agree when levels are loaded in rank order.
//
// A key may be set only at the levels of its mask (Spec.Levels), built from
// upstream's groups PV = PV_CONF|POLICY|PV_CMDLINE|ENV, PH =
// PH_CONF|POLICY|PH_CMDLINE|ENV, OEM and RUN = META|CMD as given per key in
// the reference table. ARGS and PH_CLIENT are in no group: upstream writes
// them through dedicated setters only, so they are allowed exactly for those
// keys: ARGS for PV_DEBUG_SHELL, PV_DEBUG_SHELL_AUTOLOGIN, PV_DEBUG_SSH
// (argv pv_debug) and PV_SYSTEM_INIT_MODE (argv pv_embedded, …); PH_CLIENT
// for PH_CREDS_ID, PH_CREDS_PRN and PH_CREDS_SECRET (registration, unclaim).
// DEFAULT cannot be set.
//
// # Keys
//
// Code names a key by its constant (names.go: StorageDevice for
// PV_STORAGE_DEVICE, PHCredsHost for PH_CREDS_HOST), a Key indexing the
// table, and reads it with Get; text from users goes through ParseKey or
// Set. Paths derives the device's directories from the keys that name
// them; Override sets a front end's own command-line option above every
// level.
//
// Key names in text are matched ignoring ASCII case. Every key of upstream's table is
// known with its default, type, mask and secrecy (Keys). Legacy dotted names
// are accepted with an ErrLegacyKey warning: the primary alias of each key as
// in upstream's aliases[] (log.level, storage.device, creds.host, …, note
// libthttp.certdir for PV_LIBTHTTP_CERTSDIR), plus meta.cache.dir,
// pantahub.log.push, updater.keep_factory and the misspelt
// PV_SECUREBOOT_OEM_TRUSTORE of older releases. Keys added after the
// unification (PV_LOG_DIR_MAXSIZE, PV_POWER_*, …) have no alias, as upstream.
// log.maxsize is not accepted: it named a per-file size that
// PV_LOG_DIR_MAXSIZE (a whole-directory budget) does not replace. Unknown keys
// are ignored with an ErrUnknownKey warning.
//
// Values are checked against the key's Type; a bad value is refused with an
// ErrBadValue warning naming level, key and value, and the lower value stays.
// Unlike upstream (strtol), an empty INT or BOOL is refused rather than 0.
//
// # Sources
//
// Files are key=value lines: split at the first '=', key and value trimmed,
// blank lines and lines starting with '#' skipped, quotes and inline '#' kept
// in the value; a later line wins. The kernel command line comes from
// lib/cmdline and the environment as an os.Environ slice.
//
// # Sysctl
//
// PV_SYSCTL_<NAME> and sysctl.<a>.<b> at the PV and OEM levels are collected
// as writes under /proc/sys (see Sysctls); the default is
// kernel/core_pattern = "|/lib/pv/pvcrash --skip". This package never writes
// them.
package config
