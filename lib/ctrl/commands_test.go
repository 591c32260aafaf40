package ctrl

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/config"
)

func TestMatchOp(t *testing.T) {
	for _, c := range []struct{ op, want string }{
		{"UPDATE_METADATA", OpUpdateMetadata}, {"REBOOT_DEVICE", OpReboot}, {"POWEROFF_DEVICE", OpPoweroff},
		{"TRY_ONCE", OpTryOnce}, {"LOCAL_RUN", OpLocalRun}, {"MAKE_FACTORY", OpMakeFactory}, {"RUN_GC", OpRunGC},
		{"ENABLE_SSH", OpEnableSSH}, {"DISABLE_SSH", OpDisableSSH}, {"GO_REMOTE", OpGoRemote},
		{"DEFER_REBOOT", OpDeferReboot}, {"LOCAL_RUN_COMMIT", OpLocalRunCommit}, {"LOCAL_APPLY", OpLocalApply},
		{"XCONNECT_GRAPH", OpXconnectGraph}, {"UNCLAIM", OpUnclaim},
		// prefixes match the first op in enum order
		{"LOCAL", OpLocalRun}, {"LOCAL_RUN_", OpLocalRunCommit}, {"LOCAL_A", OpLocalApply}, {"R", OpReboot},
		{"", OpUpdateMetadata}, {"D", OpDisableSSH},
		{"LOCAL_RUN_COMMIT_", ""}, {"reboot_device", ""}, {"NOPE", ""},
	} {
		assert.Equal(t, c.want, matchOp(c.op), "op %q", c.op)
	}
}

func TestParseCommand(t *testing.T) {
	for _, c := range []struct {
		body string
		want Command
		ok   bool
	}{
		{`{"op":"LOCAL_RUN","payload":"locals/x"}`, Command{OpLocalRun, "locals/x"}, true},
		{` {"payload":"a\"b","op":"REBOOT"} `, Command{OpReboot, `a"b`}, true},
		{`{"op":"RUN_GC"}`, Command{}, false},
		{`{"payload":""}`, Command{}, false},
		{`{"op":"RUN_GC","payload":1}`, Command{}, false},
		{`{"op":1,"payload":""}`, Command{}, false},
		{`{"op":"Q","payload":""}`, Command{}, false},
		{`{"op":"X","payload":""}`, Command{OpXconnectGraph, ""}, true},
		{`["op","payload"]`, Command{}, false},
		{`REBOOT_DEVICE`, Command{}, false},
		{` `, Command{}, false},
	} {
		got, ok := parseCommand([]byte(c.body))
		assert.Equal(t, c.ok, ok, c.body)
		assert.Equal(t, c.want, got, c.body)
	}
}

// TestCommandRejections walks upstream's rejection checks in order: each
// row makes one more check true than needed, so the earlier check must
// win.
func TestCommandRejections(t *testing.T) {
	type env struct{ remote, updating, claimed, noRemoteCfg, noShell, shell, pending bool }
	cases := []struct {
		name   string
		op     string
		env    env
		status int
		retry  string
		msg    string
	}{
		{"metadata local", "UPDATE_METADATA", env{updating: true, pending: true}, 409, "", "Cannot do this operation while on local mode"},
		{"metadata remote", "UPDATE_METADATA", env{remote: true}, 200, "", ""},
		{"metadata remote pending", "UPDATE_METADATA", env{remote: true, pending: true}, 503, "120", "A command is already in progress. Try again"},
		{"reboot updating", "REBOOT_DEVICE", env{updating: true, pending: true}, 503, "600", "Cannot do this operation while update is ongoing"},
		{"poweroff updating", "POWEROFF_DEVICE", env{updating: true}, 503, "600", "Cannot do this operation while update is ongoing"},
		{"run updating", "LOCAL_RUN", env{updating: true}, 503, "600", "Cannot do this operation while update is ongoing"},
		{"run-commit updating", "LOCAL_RUN_COMMIT", env{updating: true}, 503, "600", "Cannot do this operation while update is ongoing"},
		{"unclaim updating", "UNCLAIM", env{updating: true, claimed: false}, 503, "600", "Cannot do this operation while update is ongoing"},
		{"factory updating claimed", "MAKE_FACTORY", env{updating: true, claimed: true}, 503, "600", "Cannot do this operation while update is ongoing"},
		{"gc updating", "RUN_GC", env{updating: true}, 200, "", ""},
		{"factory claimed", "MAKE_FACTORY", env{claimed: true, pending: true}, 409, "", "Cannot do this operation if device is already claimed"},
		{"factory unclaimed", "MAKE_FACTORY", env{}, 200, "", ""},
		{"go-remote disabled", "GO_REMOTE", env{noRemoteCfg: true, remote: true, pending: true}, 409, "",
			"Cannot do this operation when remote mode is disabled by config"},
		{"defer no shell", "DEFER_REBOOT", env{noShell: true, pending: true}, 409, "", "Cannot do this operation when debug shell is not active"},
		{"defer shell", "DEFER_REBOOT", env{shell: true}, 200, "", ""},
		{"go-remote already", "GO_REMOTE", env{remote: true, pending: true}, 204, "", ""},
		{"go-remote", "GO_REMOTE", env{}, 200, "", ""},
		{"unclaim unclaimed", "UNCLAIM", env{pending: true}, 204, "", ""},
		{"unclaim", "UNCLAIM", env{claimed: true}, 200, "", ""},
		{"pending", "REBOOT_DEVICE", env{pending: true}, 503, "120", "A command is already in progress. Try again"},
		{"try-once pending", "TRY_ONCE", env{pending: true}, 503, "120", "A command is already in progress. Try again"},
		{"try-once", "TRY_ONCE", env{}, 200, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := c.env
			ts := newTestServer(t, func(ts *testServer) {
				ts.Remote = func() bool { return e.remote }
				ts.Updating = func() bool { return e.updating }
				ts.Claimed = func() bool { return e.claimed }
			})
			if e.noRemoteCfg {
				require.NoError(t, ts.Config.Set(config.LevelEnv, "PV_CONTROL_REMOTE", "0"))
			}
			if e.noShell {
				require.NoError(t, ts.Config.Set(config.LevelEnv, "PV_DEBUG_SHELL", "0"))
			}
			if e.shell { // off by default here (upstream: on)
				require.NoError(t, ts.Config.Set(config.LevelEnv, "PV_DEBUG_SHELL", "1"))
			}
			if e.pending {
				ok := ts.queue(Command{Op: OpRunGC})
				require.True(t, ok)
				<-ts.Commands
			}
			code, head, body := parsed(t, ts.do(t, "", "POST", "/commands", `{"op":"`+c.op+`","payload":"p"}`))
			assert.Equal(t, c.status, code)
			assert.Equal(t, c.retry, header(head, "Retry-After"))
			switch c.status {
			case 200:
				assert.Empty(t, body)
			case 204:
				assert.Empty(t, body)
			default:
				assert.Equal(t, errorBody(c.msg), body)
			}
			queued := c.status == 200 && c.op != "TRY_ONCE"
			select {
			case cmd := <-ts.Commands:
				assert.True(t, queued, "unexpected %v", cmd)
				assert.Equal(t, Command{Op: c.op, Payload: "p"}, cmd)
			default:
				assert.False(t, queued, "nothing queued")
			}
		})
	}
}

// TestCommandSlot: one command is pending from acceptance to Done.
func TestCommandSlot(t *testing.T) {
	ts := newTestServer(t)
	send := func() int {
		code, _, _ := parsed(t, ts.do(t, "", "POST", "/commands", `{"op":"RUN_GC","payload":""}`))
		return code
	}
	require.Equal(t, 200, send())
	assert.Equal(t, Command{Op: OpRunGC}, <-ts.Commands)
	assert.Equal(t, 503, send(), "taken but not done")
	ts.Done()
	assert.Equal(t, 200, send())
}
