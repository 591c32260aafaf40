package proto

import (
	"strconv"
	"strings"

	"pantavisor/lib/rawjson"
)

// UploadPrefix starts the path of a signed upload URL that the device
// sends to its configured hub (upstream: strstr(signed_puturl, "/local-s3")).
const UploadPrefix = "/local-s3"

// AppendObjectPost appends the POST /objects/ body of factory sync with
// upstream's exact spacing:
// { "objectname": "<name>", "size": "<bytes>", "sha256sum": "<hex>" }.
// name is escaped as a JSON string (upstream prints it raw; the two agree
// for every name without '"', '\\' or control characters).
func AppendObjectPost(dst []byte, name string, size int64, sha string) []byte {
	dst = append(dst, `{ "objectname": `...)
	dst = rawjson.AppendString(dst, name)
	dst = append(dst, `, "size": "`...)
	dst = strconv.AppendInt(dst, size, 10)
	dst = append(dst, `", "sha256sum": `...)
	dst = rawjson.AppendString(dst, sha)
	return append(dst, ` }`...)
}

// ParsePutURL parses the 200 answer to POST /objects/ and returns its
// "signed-puturl", which must be a non-empty string.
func ParsePutURL(data []byte) (string, error) {
	const what = "object upload answer"
	v, err := parseObject(what, data)
	if err != nil {
		return "", err
	}
	u, err := str(what, v, "signed-puturl")
	if err != nil {
		return "", err
	}
	if u == "" {
		return "", answerErr(what, "no signed-puturl")
	}
	return u, nil
}

// UploadPath returns the path the device PUTs an object to: the part of
// the signed URL from the first "/local-s3" on (upstream sends it to
// PH_CREDS_HOST:PH_CREDS_PORT, whatever host the URL names). It is refused
// without "/local-s3" or when it holds a space or control character.
func UploadPath(signedPutURL string) (string, error) {
	i := strings.Index(signedPutURL, UploadPrefix)
	if i < 0 {
		return "", answerErr("signed-puturl", "no "+UploadPrefix+" in "+strconv.Quote(clip(signedPutURL, 80)))
	}
	p := signedPutURL[i:]
	if !token(p) {
		return "", answerErr("signed-puturl", "path not printable ASCII")
	}
	return p, nil
}
