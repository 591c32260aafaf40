package engine

// Status is a container's (or group's, or revision's) state, ordered as
// upstream's plat_status_t: a group's status is the lowest of its members.
type Status uint8

// The statuses, in upstream order.
const (
	None Status = iota
	Installed
	Mounted
	Blocked
	Starting
	Started
	Ready
	Recovering
	Stopping
	Stopped
)

var statusNames = [...]string{"NONE", "INSTALLED", "MOUNTED", "BLOCKED", "STARTING", "STARTED", "READY",
	"RECOVERING", "STOPPING", "STOPPED"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "UNKNOWN"
}

// goalStatus maps a status goal (state.GoalMounted…) to the status that
// reaches it.
func goalStatus(goal string) Status {
	switch goal {
	case "MOUNTED":
		return Mounted
	case "READY":
		return Ready
	}
	return Started
}

// GoalCheck is the upstream goal verdict of one container.
type GoalCheck uint8

// The verdicts: reached, not yet, or too late.
const (
	Achieved GoalCheck = iota
	Unachieved
	TimedOut
)
