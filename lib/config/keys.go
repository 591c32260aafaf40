package config

import "slices"

// Type is the value syntax of a key.
type Type uint8

// Value types. Every value is stored as a canonical string and a number:
// BOOL 0/1, INT itself, DURATION seconds, SIZE bytes or percent, ENUM and
// LIST 0.
const (
	TypeString   Type = iota // any text, stored as given (trimmed by the file parser)
	TypeBool                 // 1/0, true/false, yes/no, on/off; printed 1 or 0
	TypeInt                  // decimal 32-bit integer
	TypeDuration             // seconds, or N with unit s, min, h or d; printed in seconds
	TypeSize                 // N with unit B, K, KB, M, MB, G, GB, T, TB (powers of 1024), or N%
	TypeEnum                 // one of Key.Choices, case-insensitive; printed lowercase
	TypeList                 // comma-separated subset of Key.Choices
)

// Mask is a set of levels, bit 1<<Level. A key may be set only at the levels
// of its mask; DEFAULT is implicit.
type Mask uint16

// Has reports whether l is in m.
func (m Mask) Has(l Level) bool { return m&(1<<l) != 0 }

// Level masks of the upstream table (config.c): PV, PH, OEM and RUN, plus
// the two levels that upstream sets through dedicated setters only.
const (
	pv     = Mask(1)<<LevelPVConf | Mask(1)<<LevelPolicy | Mask(1)<<LevelPVCmdline | Mask(1)<<LevelEnv
	ph     = Mask(1)<<LevelPHConf | Mask(1)<<LevelPolicy | Mask(1)<<LevelPHCmdline | Mask(1)<<LevelEnv
	oem    = Mask(1) << LevelOEM
	run    = Mask(1)<<LevelMeta | Mask(1)<<LevelCmd
	args   = Mask(1) << LevelArgs     // init argv: pv_debug, pv_<init mode>
	client = Mask(1) << LevelPHClient // creds the Hub client learns at registration
)

// Spec describes one configuration key: its name, legacy alias, default,
// value syntax and the levels allowed to set it.
type Spec struct {
	Name    string // canonical name, e.g. PV_LOG_LEVEL
	Alias   string // legacy dotted name, e.g. log.level; "" if none
	Default string // upstream default; "" means unset
	Choices string // ENUM and LIST: the accepted words, comma-separated
	Type    Type
	Levels  Mask // levels allowed to set the key
	Secret  bool // value printed as <secret>
}

// keys is the table of every key, sorted by Name for binary search. Defaults
// and masks are the reference table's (pantavisor-core.md 5.3); Alias is the
// first legacy name of upstream's aliases[] for the key (newer keys have none).
var keys = [numKeys]Spec{
	{"PH_CREDS_HOST", "creds.host", "api.pantahub.com", "", TypeString, ph | oem, false},
	{"PH_CREDS_ID", "creds.id", "", "", TypeString, ph | oem | client, false},
	// PH_CREDS_INSECURE is ours, not upstream's (whose async hub client
	// never verifies): 1 skips the verification of the hub's
	// certificate, for development hubs only.
	{"PH_CREDS_INSECURE", "", "0", "", TypeBool, ph | oem, false},
	{"PH_CREDS_PORT", "creds.port", "443", "", TypeInt, ph | oem, false},
	{"PH_CREDS_PRN", "creds.prn", "", "", TypeString, ph | oem | client, false},
	{"PH_CREDS_PROXY_HOST", "creds.proxy.host", "", "", TypeString, ph | oem, false},
	{"PH_CREDS_PROXY_NOPROXYCONNECT", "creds.proxy.noproxyconnect", "0", "", TypeInt, ph | oem, false},
	{"PH_CREDS_PROXY_PORT", "creds.proxy.port", "3218", "", TypeInt, ph | oem, false},
	{"PH_CREDS_SECRET", "creds.secret", "", "", TypeString, ph | oem | client, true},
	{"PH_CREDS_TYPE", "creds.type", "builtin", "", TypeString, ph | oem, false},
	{"PH_FACTORY_AUTOTOK", "factory.autotok", "", "", TypeString, ph | oem, true},
	{"PH_LIBEVENT_HTTP_RETRIES", "", "1", "", TypeInt, ph | oem | run, false},
	{"PH_LIBEVENT_HTTP_TIMEOUT", "", "60", "", TypeDuration, ph | oem | run, false},
	{"PH_METADATA_DEVMETA_INTERVAL", "metadata.devmeta.interval", "10", "", TypeDuration, ph | oem | run, false},
	{"PH_METADATA_USRMETA_INTERVAL", "metadata.usrmeta.interval", "5", "", TypeDuration, ph | oem | run, false},
	{"PH_ONLINE_REQUEST_THRESHOLD", "", "0", "", TypeInt, ph | oem | run, false},
	{"PH_UPDATER_INTERVAL", "updater.interval", "5", "", TypeDuration, ph | oem | run, false}, // reference; older config.c and docs: 60
	{"PH_UPDATER_NETWORK_TIMEOUT", "updater.network_timeout", "120", "", TypeDuration, ph | oem | run, false},
	{"PH_UPDATER_TRANSFER_MAX_COUNT", "", "5", "", TypeInt, ph | oem | run, false},
	{"PV_BOOTLOADER_FITCONFIG", "bootloader.fitconfig", "", "", TypeString, pv, false},
	{"PV_BOOTLOADER_MTD_ENV", "bootloader.mtd_env", "", "", TypeString, pv, false},
	{"PV_BOOTLOADER_MTD_ONLY", "bootloader.mtd_only", "0", "", TypeBool, pv, false},
	{"PV_BOOTLOADER_TYPE", "bootloader.type", "uboot", "uboot,uboot-pvk,grub,rpiab,uboot-ab", TypeEnum, pv, false},
	{"PV_BOOTLOADER_UBOOTAB_A_NAME", "", "fitA", "", TypeString, pv, false},
	{"PV_BOOTLOADER_UBOOTAB_B_NAME", "", "fitB", "", TypeString, pv, false},
	{"PV_BOOTLOADER_UBOOTAB_ENV_BAK_NAME", "", "", "", TypeString, pv, false},
	{"PV_BOOTLOADER_UBOOTAB_ENV_NAME", "", "", "", TypeString, pv, false},
	{"PV_BOOTLOADER_UBOOTAB_ENV_OFFSET", "", "0", "", TypeInt, pv, false},
	{"PV_BOOTLOADER_UBOOTAB_ENV_SIZE", "", "0", "", TypeInt, pv, false},
	// PV_BOOTLOADER_UBOOT_LATCH is ours: the partition (LABEL=, UUID= or
	// a path) whose FAT holds U-Boot's latch env pv.env, for U-Boot builds
	// that cannot write the storage's ext4; "" keeps pv_trying in uboot.txt.
	{"PV_BOOTLOADER_UBOOT_LATCH", "", "", "", TypeString, pv, false},
	{"PV_CACHE_DEVMETADIR", "cache.devmetadir", "/storage/cache/devmeta", "", TypeString, pv, false},
	{"PV_CACHE_USRMETADIR", "cache.usrmetadir", "/storage/cache/meta", "", TypeString, pv, false},
	{"PV_CONTROL_REMOTE", "control.remote", "1", "", TypeBool, pv | oem, false},
	{"PV_CONTROL_REMOTE_ALWAYS", "control.remote.always", "0", "", TypeBool, pv | oem, false},
	{"PV_DEBUG_SHELL", "debug.shell", "0", "", TypeBool, pv | args, false}, // upstream 1 (debug builds only): README, debug shell
	{"PV_DEBUG_SHELL_AUTOLOGIN", "debug.shell.autologin", "0", "", TypeBool, pv | args, false},
	{"PV_DEBUG_SHELL_TIMEOUT", "", "60", "", TypeDuration, pv, false},
	{"PV_DEBUG_SSH", "debug.ssh", "1", "", TypeBool, pv | oem | run | args, false},
	{"PV_DEBUG_SSH_AUTHORIZED_KEYS", "debug.ssh_authorized_keys", "", "", TypeString, pv | oem | run, false},
	{"PV_DISK_EXPORTSDIR", "disk.exportsdir", "/exports", "", TypeString, pv, false},
	{"PV_DISK_VOLDIR", "disk.voldir", "/volumes", "", TypeString, pv, false},
	{"PV_DISK_WRITABLEDIR", "disk.writabledir", "/writable", "", TypeString, pv, false},
	{"PV_DROPBEAR_CACHE_DIR", "dropbear.cache.dir", "/storage/cache/dropbear", "", TypeString, pv, false},
	{"PV_LIBEVENT_DEBUG_MODE", "", "0", "", TypeBool, pv | oem, false},
	{"PV_LIBTHTTP_CERTSDIR", "libthttp.certdir", "/certs", "", TypeString, pv, false},
	{"PV_LIBTHTTP_LOG_LEVEL", "libthttp.log.level", "3", "", TypeInt, pv | oem | run, false},
	{"PV_LOG_AUTO_DEVLOG", "", "1", "", TypeBool, pv | oem, false},
	{"PV_LOG_BUF_NITEMS", "log.buf_nitems", "128", "", TypeInt, pv | oem, false},
	{"PV_LOG_CAPTURE", "log.capture", "1", "", TypeBool, pv | oem, false},
	{"PV_LOG_CAPTURE_DMESG", "log.capture.dmesg", "1", "", TypeBool, pv | oem, false},
	{"PV_LOG_DIR", "log.dir", "/storage/logs/", "", TypeString, pv, false},
	{"PV_LOG_DIR_MAXSIZE", "", "0", "", TypeSize, pv | oem | run, false},
	{"PV_LOG_FILETREE_TIMESTAMP_FORMAT", "log.filetree.timestamp.format", "", "", TypeString, pv | oem | run, false},
	{"PV_LOG_HYSTERESIS_FACTOR", "", "4", "", TypeInt, pv | oem | run, false},
	{"PV_LOG_LEVEL", "log.level", "0", "", TypeInt, pv | oem | run, false},
	{"PV_LOG_LOGGERS", "log.loggers", "1", "", TypeBool, pv | oem, false},
	{"PV_LOG_PUSH", "log.push", "1", "", TypeBool, pv | oem | run, false},
	{"PV_LOG_ROTATE_FACTOR", "", "5", "", TypeInt, pv | oem | run, false},
	{"PV_LOG_SERVER_OUTPUTS", "log.server.outputs", "filetree", "filetree,singlefile,stdout,stdout.pantavisor,stdout.containers,stdout_direct,nullsink", TypeList, pv | oem | run, false},
	{"PV_LOG_SINGLEFILE_TIMESTAMP_FORMAT", "log.singlefile.timestamp.format", "", "", TypeString, pv | oem | run, false},
	{"PV_LOG_STDOUT_TIMESTAMP_FORMAT", "log.stdout.timestamp.format", "", "", TypeString, pv | oem | run, false},
	{"PV_LOG_TIMESTAMP", "", "relative", "relative,absolute", TypeEnum, pv | oem | run, false},
	{"PV_LOOP_INDEX_BASE", "", "-1", "", TypeInt, pv, false},
	{"PV_LXC_LOG_LEVEL", "lxc.log.level", "2", "", TypeInt, pv | oem, false},
	{"PV_NET_BRADDRESS4", "net.braddress4", "10.0.3.1", "", TypeString, pv | oem, false},
	{"PV_NET_BRDEV", "net.brdev", "lxcbr0", "", TypeString, pv | oem, false},
	{"PV_NET_BRMASK4", "net.brmask4", "255.255.255.0", "", TypeString, pv | oem, false},
	{"PV_OEM_NAME", "", "", "", TypeString, pv, false},
	{"PV_POLICY", "policy", "", "", TypeString, pv, false},
	{"PV_POWER_AUTOSLEEP_SETTLE", "", "90", "", TypeDuration, pv | oem | run, false},
	{"PV_POWER_DEVMETA_EAGER_PUSH", "", "0", "", TypeBool, pv | oem | run, false},
	{"PV_POWER_DEVMETA_MAX_HELD", "", "300", "", TypeDuration, pv | oem | run, false},
	{"PV_POWER_MODE", "", "locks", "disabled,locks,managed", TypeEnum, pv | oem | run, false},
	{"PV_POWER_SYSFS_DIR", "", "/sys/power", "", TypeString, pv | oem | run, false},
	{"PV_POWER_WAKE_INTERVAL", "", "3600", "", TypeDuration, pv | oem | run, false},
	{"PV_POWER_WAKE_MAX_AWAKE", "", "60", "", TypeDuration, pv | oem | run, false},
	{"PV_POWER_WAKE_MIN_AWAKE", "", "10", "", TypeDuration, pv | oem | run, false},
	{"PV_POWER_WAKE_RUN_WINDOW", "", "0", "", TypeDuration, pv | oem | run, false},
	{"PV_REVISION_RETRIES", "revision.retries", "10", "", TypeInt, pv | oem | run, false},
	{"PV_SECUREBOOT_CHECKSUM", "secureboot.checksum", "1", "", TypeBool, pv, false},
	{"PV_SECUREBOOT_HANDLERS", "secureboot.handlers", "1", "", TypeBool, pv, false},
	{"PV_SECUREBOOT_MODE", "secureboot.mode", "lenient", "disabled,audit,lenient,strict", TypeEnum, pv, false},
	{"PV_SECUREBOOT_OEM_TRUSTSTORE", "", "ca-oem-certificates", "", TypeString, pv, false},
	{"PV_SECUREBOOT_TRUSTSTORE", "secureboot.truststore", "ca-certificates", "", TypeString, pv, false},
	{"PV_STORAGE_DEVICE", "storage.device", "", "", TypeString, pv, false},
	{"PV_STORAGE_FIRMWARE_VOL", "", "0", "", TypeBool, pv, false},
	{"PV_STORAGE_FSTYPE", "storage.fstype", "", "", TypeString, pv, false},
	{"PV_STORAGE_GC_KEEP_FACTORY", "storage.gc.keep_factory", "0", "", TypeBool, pv | oem | run, false},
	{"PV_STORAGE_GC_RESERVED", "storage.gc.reserved", "5", "", TypeInt, pv | oem | run, false},
	{"PV_STORAGE_GC_THRESHOLD", "storage.gc.threshold", "0", "", TypeInt, pv | oem | run, false},
	{"PV_STORAGE_GC_THRESHOLD_DEFERTIME", "storage.gc.threshold.defertime", "600", "", TypeDuration, pv | oem | run, false},
	{"PV_STORAGE_LOGTEMPSIZE", "storage.logtempsize", "", "", TypeString, pv, false},
	{"PV_STORAGE_MNTPOINT", "storage.mntpoint", "", "", TypeString, pv, false},
	{"PV_STORAGE_MNTTYPE", "storage.mnttype", "", "", TypeString, pv, false},
	{"PV_STORAGE_PHCONFIG_VOL", "", "0", "", TypeBool, pv, false},
	{"PV_STORAGE_WAIT", "storage.wait", "5", "", TypeDuration, pv, false},
	{"PV_SYSTEM_APPARMOR_PROFILES", "system.apparmor.profiles", "", "", TypeString, pv, false},
	{"PV_SYSTEM_CONFDIR", "system.confdir", "/configs", "", TypeString, pv, false},
	{"PV_SYSTEM_DISKSDIR", "", "/run/pantavisor/disks", "", TypeString, pv, false},
	{"PV_SYSTEM_DRIVERS_LOAD_EARLY_AUTO", "system.drivers.load_early.auto", "0", "", TypeBool, pv, false},
	{"PV_SYSTEM_ETCDIR", "system.etcdir", "/etc", "", TypeString, pv, false},
	{"PV_SYSTEM_ETCPANTAVISORDIR", "", "/etc/pantavisor", "", TypeString, pv, false},
	{"PV_SYSTEM_INIT_MODE", "system.init.mode", "embedded", "embedded,standalone,appengine", TypeEnum, pv | args, false},
	{"PV_SYSTEM_LIBDIR", "system.libdir", "/lib", "", TypeString, pv, false},
	{"PV_SYSTEM_MEDIADIR", "system.mediadir", "/media", "", TypeString, pv, false},
	{"PV_SYSTEM_MOUNT_SECURITYFS", "system.mount.securityfs", "0", "", TypeBool, pv, false},
	{"PV_SYSTEM_RUNDIR", "system.rundir", "/pv", "", TypeString, pv, false},
	{"PV_SYSTEM_USRDIR", "system.usrdir", "/usr", "", TypeString, pv, false},
	{"PV_UPDATER_COMMIT_DELAY", "updater.commit.delay", "25", "", TypeDuration, pv | oem | run, false},
	{"PV_UPDATER_GOALS_TIMEOUT", "updater.goals.timeout", "120", "", TypeDuration, pv | oem, false},
	{"PV_UPDATER_USE_TMP_OBJECTS", "updater.use_tmp_objects", "0", "", TypeBool, pv | oem | run, false},
	{"PV_VOLMOUNT_DM_EXTRA_ARGS", "", "", "", TypeString, pv | oem, false},
	{"PV_WDT_MODE", "wdt.mode", "shutdown", "disabled,shutdown,startup,always", TypeEnum, pv, false},
	{"PV_WDT_TIMEOUT", "wdt.timeout", "15", "", TypeDuration, pv, false},
	{"PV_XCONNECT_DBUS_SYSTEMBUS_ENABLED", "", "1", "", TypeBool, pv | oem, false},
}

// compat are the legacy names that are not a key's primary alias: upstream's
// "other compatible keys" and the misspelt key name of older releases.
var compat = [...]struct{ alias, name string }{
	{"meta.cache.dir", "PV_CACHE_USRMETADIR"},
	{"pantahub.log.push", "PV_LOG_PUSH"},
	{"updater.keep_factory", "PV_STORAGE_GC_KEEP_FACTORY"},
	{"PV_SECUREBOOT_OEM_TRUSTORE", "PV_SECUREBOOT_OEM_TRUSTSTORE"},
}

// Keys returns a copy of the key table, sorted by name.
func Keys() []Spec { return slices.Clone(keys[:]) }

// Lookup finds a key by canonical name or legacy alias, both ASCII
// case-insensitive.
func Lookup(name string) (Spec, bool) {
	i, _ := find(name)
	if i < 0 {
		return Spec{}, false
	}
	return keys[i], true
}

// find returns the index of the key named name (or -1) and whether name was
// a legacy alias.
func find(name string) (int, bool) {
	if i, ok := slices.BinarySearchFunc(keys[:], name, func(k Spec, n string) int {
		return foldCmp(k.Name, n)
	}); ok {
		return i, false
	}
	for i := range keys {
		if keys[i].Alias != "" && foldCmp(keys[i].Alias, name) == 0 {
			return i, true
		}
	}
	for _, c := range compat {
		if foldCmp(c.alias, name) == 0 {
			i, _ := find(c.name)
			return i, true
		}
	}
	return -1, false
}

// foldCmp compares a and b as if both were ASCII upper case. Only ASCII is
// folded, so no Unicode look-alike (ı, ſ) can reach a key.
func foldCmp(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		ca, cb := upper(a[i]), upper(b[i])
		if ca != cb {
			if ca < cb {
				return -1
			}
			return 1
		}
	}
	return len(a) - len(b)
}

func upper(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}
