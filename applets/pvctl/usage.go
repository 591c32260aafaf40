package pvctl

// Usage texts, after upstream pvcontrol's; "pvcontrol" is replaced by the
// name the applet was called by.

const usageMain = `Usage: pvcontrol [options] <ls|containers|groups|signal|cmd|usrmeta|devmeta|buildinfo|storage|objects|steps|config|conf|graph|daemons|drivers> [arguments]
Control Pantavisor from your container
options:
       -h           show help
       -v           verbose: print request and response headers on stderr
       -s <path>    send queries to PATH socket (default: first of /run/pantavisor/pv/pv-ctrl,
                    /pv/pv-ctrl that exists, else /pantavisor/pv-ctrl)
       -f <path>    send output to file instead of stdout
       -m <message> commit message (only used for steps install and steps put)
Run 'pvcontrol <command> --help' for the usage of a command.
`

func usageText(name string) string { return (&helpExit{usage: usageMain}).text(name) }

const usageLs = `Usage: pvcontrol ls
List all containers existing in the current revision
`

const usageContainers = `Usage: pvcontrol containers <ls|start|stop|restart> [arguments]
Container lifecycle operations
       pvcontrol containers ls               - list all containers and their status
       pvcontrol containers start <name>     - start a stopped container
       pvcontrol containers stop <name>      - stop a running container
       pvcontrol containers restart <name>   - restart a container
`

const usageGroups = `Usage: pvcontrol groups <ls>
Container groups related operations
       pvcontrol groups ls - lists groups of containers
`

const usageSignal = `Usage: pvcontrol signal <ready|alive>
Send status signals to Pantavisor
       pvcontrol signal ready - container is ready
       pvcontrol signal alive - container is alive
`

const usageCommand = `Usage: pvcontrol cmd <run|run-commit|poweroff|reboot|run-gc|make-factory|enable-ssh|disable-ssh|go-remote|unclaim|defer-reboot> [arguments]
Send command to the Pantavisor state machine
       pvcontrol cmd run <locals/revision|revision>        - runs an installed step
       pvcontrol cmd run-commit <locals/revision|revision> - runs and commit an installed step
       pvcontrol cmd poweroff [message]                    - leniently powers device off
       pvcontrol cmd reboot [message]                      - leniently reboots device
       pvcontrol cmd run-gc                                - run garbage collector
       pvcontrol cmd make-factory [revision]               - make revision the factory revision if device is not yet claimed. It will use current revision if not set
       pvcontrol cmd enable-ssh                            - start SSH server ignoring config until reboot
       pvcontrol cmd disable-ssh                           - stops SSH server ignoring config until reboot
       pvcontrol cmd go-remote                             - go remote when running on a locals/ revision if allowed by config
       pvcontrol cmd unclaim                               - unclaim the device from Pantacor Hub
       pvcontrol cmd defer-reboot <new_timeout>            - when debug shell is enabled and a reboot is issue, it will defer reboot to a new timeout
`

const usageDevmeta = `Usage: pvcontrol devmeta <save|upload|delete|ls> [arguments]
Device metadata related operations
       pvcontrol devmeta save <key> [value] - creates or updates key-value pair in device metadata list
       pvcontrol devmeta delete <key>       - deletes key-value pair from device metadata list
       pvcontrol devmeta ls                 - lists stored device metadata
`

const usageUsrmeta = `Usage: pvcontrol usrmeta <save|delete|ls> [arguments]
User metadata related operations
       pvcontrol usrmeta save <key> [value] - creates or updates key-value pair in user metadata list
       pvcontrol usrmeta delete <key>       - deletes key-value pair from user metadata list
       pvcontrol usrmeta ls                 - lists stored user metadata
`

const usageBuildinfo = `Usage: pvcontrol buildinfo
Dump Pantavisor build info
`

const usageStorage = `Usage: pvcontrol storage <gc>
Storage related operations
       pvcontrol storage gc - runs the garbage collector and prints the reclaimed bytes
`

const usageObjects = `Usage: pvcontrol objects <put|get|ls> [path] <sha>
Object related operations
       pvcontrol objects put <path|-SIZE> <sha> - puts object with a given sha256 (-SIZE: SIZE bytes from stdin)
       pvcontrol objects get <sha>              - gets object with a given sha256 (always exits 0)
       pvcontrol objects ls                     - lists stored objects
`

const usageSteps = `Usage: pvcontrol steps <install|put|get|show-progress|ls> [path] <[remotes|locals]/branch/rev>
Step related operations
       pvcontrol steps install <path> locals/<revision>                 - installs a .tgz compressed tarball step and returns generated name if not specified
       pvcontrol steps put <path> locals/<revision>                     - creates step and puts state json in a given step
       pvcontrol steps get <locals/revision|revision|current>           - returns state json from a given step
       pvcontrol steps show-progress <locals/revision|revision|current> - returns update progress json from a given step
       pvcontrol steps ls                                               - lists steps from device
Unlike upstream, steps install stops at the first failing upload, prints the
reply on stderr and exits with its code (upstream ignores errors and exits 0).
`

const usageGraph = `Usage: pvcontrol graph <ls>
xconnect service mesh graph operations
       pvcontrol graph ls - show current xconnect graph
`

const usageDaemons = `Usage: pvcontrol daemons <ls|start|stop|restart> [arguments]
Daemon lifecycle operations
       pvcontrol daemons ls             - list all daemons and their status
       pvcontrol daemons start <name>   - start a daemon
       pvcontrol daemons stop <name>    - stop a daemon
       pvcontrol daemons restart <name> - restart a daemon
`

const usageDrivers = `Usage: pvcontrol drivers <ls|load|unload> [arguments]
Managed drivers of the calling container (mgmt containers only)
       pvcontrol drivers ls            - list the container's drivers and their status
       pvcontrol drivers load [name]   - load one manual driver, or all of them
       pvcontrol drivers unload [name] - unload one manual driver, or all of them
`

const usageConfig = `Usage: pvcontrol config <ls>
Legacy configuration related operations
       pvcontrol config ls - lists legacy configuration
`

const usageConf = `Usage: pvcontrol <configuration|conf> <ls>
Configuration related operations
       pvcontrol conf ls - lists current configuration
`
