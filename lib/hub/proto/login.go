package proto

import "pantavisor/lib/rawjson"

// MaxToken bounds the length of a login token (a JWT of a few hundred
// bytes in practice).
const MaxToken = 8 << 10

// AppendLogin appends the POST /auth/login body with upstream's spacing:
// {"username": "<prn>", "password": "<secret>"}.
func AppendLogin(dst []byte, prn, secret string) []byte {
	dst = append(dst, `{"username": `...)
	dst = rawjson.AppendString(dst, prn)
	dst = append(dst, `, "password": `...)
	dst = rawjson.AppendString(dst, secret)
	return append(dst, '}')
}

// ParseToken parses the login answer {"token":"<JWT>"}. The token goes
// into an Authorization header, so it must be non-empty printable ASCII
// without space, at most MaxToken bytes. Errors never quote the token.
func ParseToken(data []byte) (string, error) {
	const what = "login answer"
	v, err := parseObject(what, data)
	if err != nil {
		return "", err
	}
	t, ok := v.Get("token")
	switch {
	case !ok:
		return "", answerErr(what, "no token")
	case t.Kind != rawjson.String:
		return "", answerErr(what, "token is a "+t.Kind.String()+", want a string")
	case len(t.Str) > MaxToken:
		return "", answerErr(what, "token too long")
	case !token(t.Str):
		return "", answerErr(what, "token empty or not printable ASCII")
	}
	return t.Str, nil
}
