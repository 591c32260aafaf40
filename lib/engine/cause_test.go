package engine

import "testing"

// TestCauseNames: every cause has its name (a swapped pair would mislabel
// the log line of a failure).
func TestCauseNames(t *testing.T) {
	for _, tc := range []struct {
		c    Cause
		want string
	}{
		{NoCause, ""}, {GoalTimeout, "goal timeout"}, {ContainerFailed, "container failed"},
		{BadObjects, "bad objects"}, {SetupFailed, "setup failed"}, {TryFailed, "try failed"},
		{UpdateFailed, "update failed"}, {BadSignature, "bad signature"}, {NotCovered, "not covered"},
		{HubUnreachable, "hub unreachable"}, {HubUnstable, "hub unstable"},
	} {
		if got := tc.c.String(); got != tc.want {
			t.Errorf("Cause(%d).String() = %q, want %q", tc.c, got, tc.want)
		}
	}
	if n := len(causeNames); n != int(HubUnstable)+1 {
		t.Errorf("%d cause names for %d causes", n, HubUnstable+1)
	}
}
