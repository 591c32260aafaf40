package logs

import (
	"encoding/binary"

	"pantavisor/lib/rawjson"
)

// AppendJSON appends the JSON wire form of a message:
// {"version":"0","level":"INFO","src":src,"message":msg}.
func AppendJSON(dst []byte, level Level, src, msg string) []byte {
	dst = append(dst, `{"version":"0","level":"`...)
	dst = append(dst, level.String()...)
	dst = append(dst, `","src":`...)
	dst = rawjson.AppendString(dst, src)
	dst = append(dst, `,"message":`...)
	dst = rawjson.AppendString(dst, msg)
	return append(dst, '}')
}

// AppendKV appends the key=value wire form: level=INFO src="…" message="…",
// quoting with \" and \\ escapes.
func AppendKV(dst []byte, level Level, src, msg string) []byte {
	dst = append(dst, "level="...)
	dst = append(dst, level.String()...)
	dst = append(dst, " src="...)
	dst = appendQuoted(dst, src)
	dst = append(dst, " message="...)
	return appendQuoted(dst, msg)
}

func appendQuoted(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			dst = append(dst, '\\')
		}
		dst = append(dst, s[i])
	}
	return append(dst, '"')
}

// AppendLegacy appends a legacy binary message (code 0, host byte order):
// "<level>\0<platform>\0<source>\0<data>".
func AppendLegacy(dst []byte, level Level, platform, src string, data []byte) []byte {
	n := len(platform) + len(src) + len(data) + 4
	dst = binary.NativeEndian.AppendUint32(dst, CodeLegacy)
	dst = binary.NativeEndian.AppendUint32(dst, uint32(n))
	dst = append(dst, byte('0'+level), 0)
	dst = append(dst, platform...)
	dst = append(dst, 0)
	dst = append(dst, src...)
	dst = append(dst, 0)
	return append(dst, data...)
}

// AppendCommand appends a command message (code 256) {"code":N,"data":rev}.
func AppendCommand(dst []byte, code int, data string) []byte {
	body := append([]byte(`{"code":`), byte('0'+code))
	body = append(body, `,"data":`...)
	body = rawjson.AppendString(body, data)
	body = append(body, '}')
	dst = binary.NativeEndian.AppendUint32(dst, CodeCmd)
	dst = binary.NativeEndian.AppendUint32(dst, uint32(len(body)))
	return append(dst, body...)
}
