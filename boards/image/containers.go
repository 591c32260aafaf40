package image

import "strings"

// Container is one container of the factory revision, built from a busybox
// rootfs with its init script at /app/init.sh.
type Container struct {
	Name    string
	Group   string            // data, root, platform or app
	Roles   []string          // ["mgmt"], or ["nobody"] (absent would mean mgmt upstream)
	Init    string            // /app/init.sh
	Files   []File            // more rootfs files
	Storage map[string]string // volumes besides lxc-overlay: name → persistence
	Disks   map[string]string // storage volumes on a device.json disk: name → disk
	Mounts  []string          // more lxc.mount.entry values
	Run     map[string]any    // more run.json keys (restart_policy, status_goal, auto_recovery)
}

// statusVolume is the mgmt container's boot volume where it shares the
// device's revision and status with the web container, which cannot see
// device-meta without the mgmt role. Named as pvr names a docker volume
// for /var/pvstatus.
const statusVolume = "docker--var-pvstatus"

// Containers returns the factory revision's containers, in start order:
//   - os (group root): keeps the device's network namespace and configures
//     eth0 with busybox udhcpc, then idles;
//   - mgmt (group platform, role mgmt): every 5 s logs the revision and
//     status from /pantavisor/device-meta (falling back to pv_rev from
//     /proc/cmdline) and writes them to its volume /var/pvstatus;
//   - web (group app): busybox httpd on port 80 on the network pool "apps"
//     (DemoPools: its own network namespace behind NAT, the device's port
//     80 forwarded to it), serving a page rewritten every 5 s with the
//     booted revision (/proc/cmdline) and the status mgmt shared (its
//     volume, bound read-only at /var/pvstatus, as pvr containers share
//     sockets).
func Containers() []Container {
	return []Container{
		{Name: "os", Group: "root", Roles: []string{"nobody"}, Init: osInit,
			Files: []File{{"usr/share/udhcpc/default.script", 0o755, udhcpcScript}}},
		{Name: "mgmt", Group: "platform", Roles: []string{"mgmt"}, Init: mgmtInit,
			Storage: map[string]string{statusVolume: "boot"},
			Mounts:  []string{"/volumes/mgmt/" + statusVolume + " var/pvstatus none bind,rw,create=dir 0 0"}},
		{Name: "web", Group: "app", Roles: []string{"nobody"}, Init: webInit,
			Files:  []File{{"www/index.html", 0o644, "<!DOCTYPE html>\n<title>Pantavisor device</title>\n<p>starting</p>\n"}},
			Mounts: []string{"/volumes/mgmt/" + statusVolume + " var/pvstatus none bind,ro,create=dir 0 0"},
			Run: map[string]any{"network": map[string]any{"mode": "pool", "pool": demoPool, "hostname": "web",
				"ports": []string{"80:80"}}}},
	}
}

// demoPool is the network pool of the demo's web container.
const demoPool = "apps"

// DemoPools is device.json's "network" of the demo: the bridge pool
// "apps" with NAT, whose gateway the device holds on pvbr0.
func DemoPools() map[string]any {
	return map[string]any{"pools": map[string]any{demoPool: map[string]any{"type": "bridge", "bridge": "pvbr0",
		"subnet": "10.0.5.0/24", "gateway": "10.0.5.1", "nat": true}}}
}

// HostNetwork returns containers and device.json without network pools:
// every container in the device's network namespace, for images whose
// kernel modules cannot make bridges or NAT (the QEMU tests' fake
// modules tree).
func HostNetwork(cs []Container, dev map[string]any) ([]Container, map[string]any) {
	out := make([]Container, len(cs))
	for i, c := range cs {
		if _, ok := c.Run["network"]; ok {
			run := map[string]any{}
			for k, v := range c.Run {
				if k != "network" {
					run[k] = v
				}
			}
			c.Run = run
		}
		out[i] = c
	}
	d := map[string]any{}
	for k, v := range dev {
		if k != "network" {
			d[k] = v
		}
	}
	return out, d
}

// RunJSON is the container's run.json, with the keys pvr writes.
func (c Container) RunJSON() map[string]any {
	storage := map[string]any{"lxc-overlay": map[string]any{"persistence": "boot"}}
	for name, p := range c.Storage {
		storage[name] = map[string]any{"persistence": p}
		if d := c.Disks[name]; d != "" {
			storage[name] = map[string]any{"persistence": p, "disk": d}
		}
	}
	run := map[string]any{
		"#spec":       "service-manifest-run@1",
		"config":      "lxc.container.conf",
		"drivers":     map[string]any{"manual": []string{}, "optional": []string{}, "required": []string{}},
		"group":       c.Group,
		"name":        c.Name,
		"roles":       c.Roles,
		"root-volume": "root.squashfs",
		"storage":     storage,
		"type":        "lxc",
		"volumes":     []string{},
	}
	for k, v := range c.Run {
		run[k] = v
	}
	return run
}

// LXCConfig is the container's lxc.container.conf as pvr's template writes
// it: overlay on the root squashfs with the lxc-overlay boot volume as the
// upper layer, the device's user, net and ipc namespaces kept, proc, sys
// and cgroup auto-mounted, a tmpfs /run, then c.Mounts.
func (c Container) LXCConfig() string {
	v := "/volumes/" + c.Name
	lines := []string{
		"lxc.tty.max = 8",
		"lxc.pty.max = 1024",
		"lxc.cgroup.devices.allow = a",
		"lxc.rootfs.path = overlayfs:" + v + "/root.squashfs:" + v + "/lxc-overlay/upper",
		"lxc.init.cmd = /app/init.sh",
		"lxc.init.cwd = /app",
		"lxc.environment = PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"lxc.namespace.keep = user  net  ipc",
		"lxc.mount.auto = proc  sys:rw  cgroup",
		"lxc.mount.entry = tmpfs run tmpfs rw,nodev,relatime,create=dir,mode=755 0 0",
	}
	for _, m := range c.Mounts {
		lines = append(lines, "lxc.mount.entry = "+m)
	}
	return strings.Join(lines, "\n") + "\n"
}

// RootfsFiles are the files c adds to the busybox rootfs.
func (c Container) RootfsFiles() []File {
	return append([]File{{"app/init.sh", 0o755, c.Init}}, c.Files...)
}

const osInit = `#!/bin/sh
# os: the network container. It keeps the device's network namespace, so
# the address it leases is the device's; udhcpc stays in the background
# renewing the lease. As PID 1 of its namespace the shell ignores SIGTERM
# unless trapped, and runs a trap only between commands: hence the waits.
trap 'exit 0' TERM INT
echo "os: up; configuring eth0 with DHCP"
ip link set lo up
ip link set eth0 up
# The BSP's modules volume, bound at /lib/modules/<release>: load a module
# with dependencies (bridge needs stp and llc) as a network container would.
if modprobe bridge && grep -q '^stp ' /proc/modules; then
	echo "os: modprobe bridge: ok"
else
	echo "os: modprobe bridge: failed"
fi
udhcpc -i eth0 -b -t 10 -T 3 -s /usr/share/udhcpc/default.script
while :; do
	sleep 3600 &
	wait $!
done
`

const udhcpcScript = `#!/bin/sh
# udhcpc event script: apply the lease to $interface with busybox ip.
case "$1" in
deconfig)
	ip -4 addr flush dev "$interface"
	ip link set "$interface" up
	;;
bound|renew)
	ip link set "$interface" up
	ip -4 addr flush dev "$interface"
	ip -4 addr add "$ip/${mask:-24}" dev "$interface"
	for r in $router; do
		ip -4 route replace default via "$r" dev "$interface"
		break
	done
	if [ -n "$dns" ]; then
		for d in $dns; do echo "nameserver $d"; done > /etc/resolv.conf
	fi
	echo "udhcpc: $interface $ip/${mask:-24} router ${router:-none}"
	;;
esac
exit 0
`

const mgmtInit = `#!/bin/sh
# mgmt: role mgmt, so /pantavisor is the whole run directory. Every 5 s it
# logs the device's revision and status and the container list from
# pv-ctl ls, and shares them, with web's pool address from device-meta,
# with the web container through its volume /var/pvstatus.
trap 'exit 0' TERM INT
echo "mgmt: up"
while :; do
	rev=$(cat /pantavisor/device-meta/pantavisor.revision 2>/dev/null)
	status=$(cat /pantavisor/device-meta/pantavisor.status 2>/dev/null)
	if [ -z "$rev" ]; then
		for w in $(cat /proc/cmdline); do
			case "$w" in pv_rev=*) rev=${w#pv_rev=} ;; esac
		done
	fi
	net=$(cat /pantavisor/device-meta/pantavisor.network.web 2>/dev/null)
	echo "mgmt: revision=${rev:-?} status=${status:-unknown} /pantavisor: $(ls /pantavisor 2>/dev/null | tr '\n' ' ')"
	printf 'revision=%s\nstatus=%s\nnetwork=%s\n' "$rev" "${status:-unknown}" "$net" > /var/pvstatus/status.tmp &&
		mv /var/pvstatus/status.tmp /var/pvstatus/status
	if /pantavisor/bin/pv-ctl ls > /var/pvstatus/containers.tmp 2>&1; then
		echo "mgmt: pv-ctl ls: $(cat /var/pvstatus/containers.tmp)"
		mv /var/pvstatus/containers.tmp /var/pvstatus/containers
	else
		echo "mgmt: pv-ctl ls failed: $(cat /var/pvstatus/containers.tmp)"
	fi
	sleep 5 &
	wait $!
done
`

const webInit = `#!/bin/sh
# web: busybox httpd on port 80 (on the "apps" pool, the device's port 80
# forwarded to it, which QEMU's hostfwd reaches), serving /www. index.html is rewritten every 5 s from
# /proc/cmdline (the booted revision) and /var/pvstatus/status (what the
# mgmt container shares: status, the container list (pv-ctl ls), and the
# revision when the command line has none).
esc() { printf '%s' "$1" | sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g'; }
page() {
	rev=
	try=
	for w in $(cat /proc/cmdline); do
		case "$w" in
		pv_rev=*) rev=${w#pv_rev=} ;;
		pv_try=*) try=${w#pv_try=} ;;
		esac
	done
	status=$(sed -n 's/^status=//p' /var/pvstatus/status 2>/dev/null)
	net=$(sed -n 's/^network=//p' /var/pvstatus/status 2>/dev/null)
	[ -n "$rev" ] || rev=$(sed -n 's/^revision=//p' /var/pvstatus/status 2>/dev/null)
	cat > /www/index.html.tmp <<EOF
<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>Pantavisor device</title></head>
<body><h1>Pantavisor device</h1>
<table>
<tr><th>revision</th><td id="revision">$(esc "$rev")</td></tr>
<tr><th>trying</th><td id="try">$(esc "${try:-no}")</td></tr>
<tr><th>status</th><td id="status">$(esc "${status:-unknown}")</td></tr>
<tr><th>web's network</th><td id="network">$(esc "${net:-host}")</td></tr>
<tr><th>uptime</th><td>$(cut -d' ' -f1 /proc/uptime) s</td></tr>
</table>
<h2>Containers (pv-ctl ls, from the mgmt container)</h2>
<pre id="containers">$(esc "$(cat /var/pvstatus/containers 2>/dev/null || echo unknown)")</pre>
</body></html>
EOF
	mv /www/index.html.tmp /www/index.html
}
page
echo "web: eth0 $(ip -4 -o addr show dev eth0 2>/dev/null | awk '{print $4}')"
httpd -f -p 80 -h /www &
httpd=$!
trap 'kill "$httpd"; exit 0' TERM INT
echo "web: httpd on port 80 (pid $httpd)"
while kill -0 "$httpd" 2>/dev/null; do
	sleep 5 &
	wait $!
	page
done
echo "web: httpd exited"
exit 1
`
