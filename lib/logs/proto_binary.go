package logs

import (
	"bytes"
	"encoding/binary"

	"pantavisor/lib/rawjson"
)

// maxPlatform is upstream's LOGSERVER_PLAT_MAX_LEN - 1: a longer platform in
// a legacy message is cut.
const maxPlatform = 63

func hostInt32(b []byte) int32 { return int32(binary.NativeEndian.Uint32(b)) }

// binaryBody returns buf[len] of struct logserver_msg {int code; int len;
// char buf[];} (host byte order).
func binaryBody(b []byte) ([]byte, error) {
	n := hostInt32(b[4:])
	if n < 0 || int64(n) > int64(len(b)-8) {
		return nil, badf(ErrMalformed, "binary: length %d with %d bytes", n, len(b)-8)
	}
	return b[8 : 8+int(n)], nil
}

// parseLegacy decodes code 0, buf = "<level digits>\0<platform>\0<source>\0<data>".
// The platform comes from the message, cut to 63 bytes; trailing NULs of
// data are dropped.
func parseLegacy(b []byte) (Message, error) {
	body, err := binaryBody(b)
	if err != nil {
		return Message{}, err
	}
	var f [3][]byte
	for i := range f {
		end := bytes.IndexByte(body, 0)
		if end < 0 {
			return Message{}, badf(ErrMalformed, "legacy: %d of 3 NUL-terminated fields", i)
		}
		f[i], body = body[:end], body[end+1:]
	}
	lvl := 0
	for _, c := range f[0] {
		if !isDigit(c) || lvl > 5 {
			return Message{}, badf(ErrBadLevel, "legacy: %q", f[0])
		}
		lvl = lvl*10 + int(c-'0')
	}
	if len(f[0]) == 0 || lvl > 5 {
		return Message{}, badf(ErrBadLevel, "legacy: %q", f[0])
	}
	if len(f[1]) > maxPlatform {
		f[1] = f[1][:maxPlatform]
	}
	body = bytes.TrimRight(body, "\x00")
	return Message{Proto: Legacy, Level: Level(lvl), Platform: string(f[1]), Source: string(f[2]), Data: bytes.Clone(body)}, nil
}

// parseCmd keeps the body of a code 256 message in Data (see ParseCommand).
func parseCmd(b []byte) (Message, error) {
	body, err := binaryBody(b)
	if err != nil {
		return Message{}, err
	}
	return Message{Proto: Cmd, Level: Info, Data: bytes.Clone(bytes.TrimRight(body, "\x00"))}, nil
}

// Command codes of a Cmd message (upstream's logserver commands).
const (
	CmdExit        = 1
	CmdStartUpdate = 2
	CmdStopUpdate  = 3
	CmdTransition  = 4
)

// Command is the body of a Cmd message: {"code":N,"data":"<rev>"}.
type Command struct {
	Code int
	Data string
}

// ParseCommand decodes a Cmd message's Data.
func ParseCommand(data []byte) (Command, error) {
	v, err := rawjson.Parse(data)
	if err != nil {
		return Command{}, badf(ErrMalformed, "command: %v", err)
	}
	code, _ := v.Get("code")
	n, err := code.Int()
	if err != nil || n < CmdExit || n > CmdTransition {
		return Command{}, badf(ErrMalformed, "command: code %q", code.Raw)
	}
	d, _ := v.Get("data")
	if d.Kind != rawjson.String && d.Kind != rawjson.Invalid && d.Kind != rawjson.Null {
		return Command{}, badf(ErrMalformed, "command: data %q", d.Raw)
	}
	return Command{Code: int(n), Data: d.Str}, nil
}
