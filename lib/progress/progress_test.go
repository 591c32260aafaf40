package progress

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPercent(t *testing.T) {
	for status, want := range map[string]int{
		New: 0, Queued: 5, Downloading: 25, InProgress: 50, Testing: 75,
		Updated: 100, Done: 100, WontGo: 100, Error: 100, "UNKNOWN": 0, "": 0,
	} {
		assert.Equal(t, want, Percent(status), status)
		assert.Equal(t, want == 100, Final(status), status)
	}
}

func TestBytesMatchesUpstream(t *testing.T) {
	assert.Equal(t, `{"status":"NEW","status-msg":"Update ready to be run","progress":0,"retries":0}`,
		string(Make(New, MsgReady).Bytes()))
	assert.Equal(t, `{"status":"DONE","status-msg":"Factory revision","progress":100,"retries":0}`,
		string(Make(Done, MsgFactory).Bytes()))
	p := Make(Downloading, "Downloading update artifacts, retry 1 of 10")
	p.Retries = 1
	p.Downloads = &Downloads{TotalSize: 10, Downloaded: 4, StartTime: 100, Now: 105}
	p.Logs = "line \"1\"\n"
	assert.Equal(t, `{"status":"DOWNLOADING","status-msg":"Downloading update artifacts, retry 1 of 10","progress":25,"retries":1,`+
		`"downloads":{"total":{"object_name":"total","object_id":"none","total_size":10,"total_downloaded":4,"start_time":100,"current_time":105}},`+
		`"logs":"line \"1\"\n"}`, string(p.Bytes()))
}

func TestParseRoundTrips(t *testing.T) {
	p := Make(Testing, MsgAwaitStable)
	p.Retries = 3
	p.Logs = "x"
	got, err := Parse(p.Bytes())
	require.NoError(t, err)
	assert.Equal(t, p, got)

	for _, bad := range []string{``, `[]`, `{}`, `{"status":1}`, `{"status":"NEW"`} {
		_, err := Parse([]byte(bad))
		assert.Error(t, err, bad)
	}
}
