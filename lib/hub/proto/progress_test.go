package proto

import (
	"strings"
	"testing"

	"pantavisor/lib/progress"
	"pantavisor/lib/rawjson"
)

func TestAppendProgress(t *testing.T) {
	dl := &progress.Downloads{TotalSize: 123, Downloaded: 45, StartTime: 1732560000, Now: 1732560006}
	for _, tc := range []struct {
		p    progress.Progress
		want string
	}{
		{progress.Progress{Status: progress.Downloading, Msg: "Downloading update artifacts, retry 1 of 10", Retries: 1, Downloads: dl},
			`{"status":"DOWNLOADING","status-msg":"Downloading update artifacts, retry 1 of 10","progress":25,"retries":1,` +
				`"downloads":{"total":{"object_name":"total","object_id":"none","total_size":123,"total_downloaded":45,` +
				`"start_time":1732560000,"current_time":1732560006}}}`},
		{progress.Progress{Status: progress.Downloading, Msg: "m"},
			`{"status":"DOWNLOADING","status-msg":"m","progress":25,"retries":0,"downloads":{"total":{"object_name":"total","object_id":"none","total_size":0,"total_downloaded":0,"start_time":0,"current_time":0}}}`},
		{progress.Progress{Status: progress.New, Progress: 77}, `{"status":"NEW","status-msg":"","progress":0,"retries":0}`},
		{progress.Progress{Status: progress.Queued, Msg: "Retried 1 of 10", Retries: 1, Downloads: dl}, `{"status":"QUEUED","status-msg":"Retried 1 of 10","progress":5,"retries":1}`},
		{progress.Progress{Status: progress.InProgress, Msg: progress.MsgRebooting}, `{"status":"INPROGRESS","status-msg":"Rebooting","progress":50,"retries":0}`},
		{progress.Progress{Status: progress.Testing, Msg: progress.MsgAwaitStable}, `{"status":"TESTING","status-msg":"Awaiting to see if update is stable","progress":75,"retries":0}`},
		{progress.Progress{Status: progress.Done, Msg: progress.MsgDone}, `{"status":"DONE","status-msg":"Update finished, revision set as rollback point","progress":100,"retries":0}`},
		{progress.Progress{Status: progress.Updated}, `{"status":"UPDATED","status-msg":"","progress":100,"retries":0}`},
		{progress.Progress{Status: progress.WontGo}, `{"status":"WONTGO","status-msg":"","progress":100,"retries":0}`},
		{progress.Progress{Status: progress.Error, Msg: "Hub not reachable", Logs: "a\nb\n"},
			`{"status":"ERROR","status-msg":"Hub not reachable","progress":100,"retries":0,"logs":"a\nb\n"}`},
	} {
		if got := string(AppendProgress(nil, tc.p)); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}

func TestAppendProgressLogsTail(t *testing.T) {
	logs := "HEAD" + strings.Repeat("x", MaxProgressLogs-4) + "é" + "TAIL" // 2 bytes over, é splits
	body := AppendProgress(nil, progress.Progress{Status: progress.Error, Logs: logs})
	v, err := rawjson.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	l, _ := v.Get("logs")
	if len(l.Str) > MaxProgressLogs || !strings.HasSuffix(l.Str, "éTAIL") || strings.HasPrefix(l.Str, "HEAD") {
		t.Fatalf("logs kept %d bytes: %.20q…%q", len(l.Str), l.Str, l.Str[len(l.Str)-8:])
	}
	// A cut inside a multi-byte rune drops its continuation bytes.
	if got := tail("aé", 1); got != "" {
		t.Errorf("tail(aé, 1) = %q", got)
	}
	if got := tail("aéb", 3); got != "éb" {
		t.Errorf("tail(aéb, 3) = %q", got)
	}
}
