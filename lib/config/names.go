package config

// The keys, one constant per row of the table in keys.go and in the same
// order (the table is indexed by Key). A PV_ key is named after its name
// without the prefix, a PH_ key keeps PH: PV_STORAGE_DEVICE is
// StorageDevice, PH_CREDS_HOST is PHCredsHost. TestKeyNames checks the
// names against the table.
const (
	PHCredsHost                  Key = iota // PH_CREDS_HOST
	PHCredsID                               // PH_CREDS_ID
	PHCredsInsecure                         // PH_CREDS_INSECURE (ours: skip the hub certificate check)
	PHCredsPort                             // PH_CREDS_PORT
	PHCredsPRN                              // PH_CREDS_PRN
	PHCredsProxyHost                        // PH_CREDS_PROXY_HOST
	PHCredsProxyNoproxyconnect              // PH_CREDS_PROXY_NOPROXYCONNECT
	PHCredsProxyPort                        // PH_CREDS_PROXY_PORT
	PHCredsSecret                           // PH_CREDS_SECRET
	PHCredsType                             // PH_CREDS_TYPE
	PHFactoryAutotok                        // PH_FACTORY_AUTOTOK
	PHLibeventHTTPRetries                   // PH_LIBEVENT_HTTP_RETRIES
	PHLibeventHTTPTimeout                   // PH_LIBEVENT_HTTP_TIMEOUT
	PHMetadataDevmetaInterval               // PH_METADATA_DEVMETA_INTERVAL
	PHMetadataUsrmetaInterval               // PH_METADATA_USRMETA_INTERVAL
	PHOnlineRequestThreshold                // PH_ONLINE_REQUEST_THRESHOLD
	PHUpdaterInterval                       // PH_UPDATER_INTERVAL
	PHUpdaterNetworkTimeout                 // PH_UPDATER_NETWORK_TIMEOUT
	PHUpdaterTransferMaxCount               // PH_UPDATER_TRANSFER_MAX_COUNT
	BootloaderFitconfig                     // PV_BOOTLOADER_FITCONFIG
	BootloaderMTDEnv                        // PV_BOOTLOADER_MTD_ENV
	BootloaderMTDOnly                       // PV_BOOTLOADER_MTD_ONLY
	BootloaderType                          // PV_BOOTLOADER_TYPE
	BootloaderUbootabAName                  // PV_BOOTLOADER_UBOOTAB_A_NAME
	BootloaderUbootabBName                  // PV_BOOTLOADER_UBOOTAB_B_NAME
	BootloaderUbootabEnvBakName             // PV_BOOTLOADER_UBOOTAB_ENV_BAK_NAME
	BootloaderUbootabEnvName                // PV_BOOTLOADER_UBOOTAB_ENV_NAME
	BootloaderUbootabEnvOffset              // PV_BOOTLOADER_UBOOTAB_ENV_OFFSET
	BootloaderUbootabEnvSize                // PV_BOOTLOADER_UBOOTAB_ENV_SIZE
	BootloaderUbootLatch                    // PV_BOOTLOADER_UBOOT_LATCH (ours: the partition of U-Boot's latch env pv.env)
	CacheDevmetadir                         // PV_CACHE_DEVMETADIR
	CacheUsrmetadir                         // PV_CACHE_USRMETADIR
	ControlRemote                           // PV_CONTROL_REMOTE
	ControlRemoteAlways                     // PV_CONTROL_REMOTE_ALWAYS
	DebugShell                              // PV_DEBUG_SHELL
	DebugShellAutologin                     // PV_DEBUG_SHELL_AUTOLOGIN
	DebugShellTimeout                       // PV_DEBUG_SHELL_TIMEOUT
	DebugSSH                                // PV_DEBUG_SSH
	DebugSSHAuthorizedKeys                  // PV_DEBUG_SSH_AUTHORIZED_KEYS
	DiskExportsdir                          // PV_DISK_EXPORTSDIR
	DiskVoldir                              // PV_DISK_VOLDIR
	DiskWritabledir                         // PV_DISK_WRITABLEDIR
	DropbearCacheDir                        // PV_DROPBEAR_CACHE_DIR
	LibeventDebugMode                       // PV_LIBEVENT_DEBUG_MODE
	LibthttpCertsdir                        // PV_LIBTHTTP_CERTSDIR
	LibthttpLogLevel                        // PV_LIBTHTTP_LOG_LEVEL
	LogAutoDevlog                           // PV_LOG_AUTO_DEVLOG
	LogBufNitems                            // PV_LOG_BUF_NITEMS
	LogCapture                              // PV_LOG_CAPTURE
	LogCaptureDmesg                         // PV_LOG_CAPTURE_DMESG
	LogDir                                  // PV_LOG_DIR
	LogDirMaxsize                           // PV_LOG_DIR_MAXSIZE
	LogFiletreeTimestampFormat              // PV_LOG_FILETREE_TIMESTAMP_FORMAT
	LogHysteresisFactor                     // PV_LOG_HYSTERESIS_FACTOR
	LogLevel                                // PV_LOG_LEVEL
	LogLoggers                              // PV_LOG_LOGGERS
	LogPush                                 // PV_LOG_PUSH
	LogRotateFactor                         // PV_LOG_ROTATE_FACTOR
	LogServerOutputs                        // PV_LOG_SERVER_OUTPUTS
	LogSinglefileTimestampFormat            // PV_LOG_SINGLEFILE_TIMESTAMP_FORMAT
	LogStdoutTimestampFormat                // PV_LOG_STDOUT_TIMESTAMP_FORMAT
	LogTimestamp                            // PV_LOG_TIMESTAMP
	LoopIndexBase                           // PV_LOOP_INDEX_BASE
	LXCLogLevel                             // PV_LXC_LOG_LEVEL
	NetBraddress4                           // PV_NET_BRADDRESS4
	NetBrdev                                // PV_NET_BRDEV
	NetBrmask4                              // PV_NET_BRMASK4
	OEMName                                 // PV_OEM_NAME
	Policy                                  // PV_POLICY
	PowerAutosleepSettle                    // PV_POWER_AUTOSLEEP_SETTLE
	PowerDevmetaEagerPush                   // PV_POWER_DEVMETA_EAGER_PUSH
	PowerDevmetaMaxHeld                     // PV_POWER_DEVMETA_MAX_HELD
	PowerMode                               // PV_POWER_MODE
	PowerSysfsDir                           // PV_POWER_SYSFS_DIR
	PowerWakeInterval                       // PV_POWER_WAKE_INTERVAL
	PowerWakeMaxAwake                       // PV_POWER_WAKE_MAX_AWAKE
	PowerWakeMinAwake                       // PV_POWER_WAKE_MIN_AWAKE
	PowerWakeRunWindow                      // PV_POWER_WAKE_RUN_WINDOW
	RevisionRetries                         // PV_REVISION_RETRIES
	SecurebootChecksum                      // PV_SECUREBOOT_CHECKSUM
	SecurebootHandlers                      // PV_SECUREBOOT_HANDLERS
	SecurebootMode                          // PV_SECUREBOOT_MODE
	SecurebootOEMTruststore                 // PV_SECUREBOOT_OEM_TRUSTSTORE
	SecurebootTruststore                    // PV_SECUREBOOT_TRUSTSTORE
	StorageDevice                           // PV_STORAGE_DEVICE
	StorageFirmwareVol                      // PV_STORAGE_FIRMWARE_VOL
	StorageFstype                           // PV_STORAGE_FSTYPE
	StorageGcKeepFactory                    // PV_STORAGE_GC_KEEP_FACTORY
	StorageGcReserved                       // PV_STORAGE_GC_RESERVED
	StorageGcThreshold                      // PV_STORAGE_GC_THRESHOLD
	StorageGcThresholdDefertime             // PV_STORAGE_GC_THRESHOLD_DEFERTIME
	StorageLogtempsize                      // PV_STORAGE_LOGTEMPSIZE
	StorageMntpoint                         // PV_STORAGE_MNTPOINT
	StorageMnttype                          // PV_STORAGE_MNTTYPE
	StoragePhconfigVol                      // PV_STORAGE_PHCONFIG_VOL
	StorageWait                             // PV_STORAGE_WAIT
	SystemApparmorProfiles                  // PV_SYSTEM_APPARMOR_PROFILES
	SystemConfdir                           // PV_SYSTEM_CONFDIR
	SystemDisksdir                          // PV_SYSTEM_DISKSDIR
	SystemDriversLoadEarlyAuto              // PV_SYSTEM_DRIVERS_LOAD_EARLY_AUTO
	SystemEtcdir                            // PV_SYSTEM_ETCDIR
	SystemEtcpantavisordir                  // PV_SYSTEM_ETCPANTAVISORDIR
	SystemInitMode                          // PV_SYSTEM_INIT_MODE
	SystemLibdir                            // PV_SYSTEM_LIBDIR
	SystemMediadir                          // PV_SYSTEM_MEDIADIR
	SystemMountSecurityfs                   // PV_SYSTEM_MOUNT_SECURITYFS
	SystemRundir                            // PV_SYSTEM_RUNDIR
	SystemUsrdir                            // PV_SYSTEM_USRDIR
	UpdaterCommitDelay                      // PV_UPDATER_COMMIT_DELAY
	UpdaterGoalsTimeout                     // PV_UPDATER_GOALS_TIMEOUT
	UpdaterUseTmpObjects                    // PV_UPDATER_USE_TMP_OBJECTS
	VolmountDMExtraArgs                     // PV_VOLMOUNT_DM_EXTRA_ARGS
	WDTMode                                 // PV_WDT_MODE
	WDTTimeout                              // PV_WDT_TIMEOUT
	XconnectDbusSystembusEnabled            // PV_XCONNECT_DBUS_SYSTEMBUS_ENABLED
	numKeys                                 // the number of keys
)
