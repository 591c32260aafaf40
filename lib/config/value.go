package config

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// setting is one value of a key at one level: s is the canonical text, n the
// number (see Type).
type setting struct {
	s string
	n int64
	l Level
}

// parseValue checks raw against the syntax of k and returns its canonical
// form. The error says what was expected, without repeating raw.
func parseValue(k *Spec, raw string) (setting, error) {
	switch k.Type {
	case TypeBool:
		return parseBool(raw)
	case TypeInt:
		n, err := strconv.ParseInt(raw, 10, 32)
		if err != nil {
			return setting{}, errors.New("want a decimal 32-bit integer")
		}
		return setting{s: strconv.FormatInt(n, 10), n: n}, nil
	case TypeDuration:
		return parseDuration(raw)
	case TypeSize:
		return parseSize(raw)
	case TypeEnum:
		if c, ok := choice(k.Choices, raw); ok {
			return setting{s: c}, nil
		}
		return setting{}, errors.New("want one of " + k.Choices)
	case TypeList:
		return parseList(k.Choices, raw)
	}
	return setting{s: raw}, nil
}

func parseBool(raw string) (setting, error) {
	switch strings.ToLower(raw) {
	case "1", "true", "yes", "on":
		return setting{s: "1", n: 1}, nil
	case "0", "false", "no", "off":
		return setting{s: "0", n: 0}, nil
	}
	return setting{}, errors.New("want 1/0, true/false, yes/no or on/off")
}

// leadingDigits splits raw into its leading decimal number and the rest.
func leadingDigits(raw string) (int64, string, bool) {
	i := 0
	for i < len(raw) && '0' <= raw[i] && raw[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, "", false
	}
	n, err := strconv.ParseInt(raw[:i], 10, 64)
	return n, raw[i:], err == nil
}

// parseDuration accepts seconds or one number with unit s, min, h or d. The
// result must fit in 32-bit seconds, as upstream keeps durations in an int.
func parseDuration(raw string) (setting, error) {
	bad := errors.New("want seconds or a number with unit s, min, h or d (e.g. 30s, 10min, 1h, 1d)")
	n, unit, ok := leadingDigits(raw)
	if !ok {
		return setting{}, bad
	}
	var mult int64
	switch strings.ToLower(unit) {
	case "", "s":
		mult = 1
	case "min":
		mult = 60
	case "h":
		mult = 3600
	case "d":
		mult = 86400
	default:
		return setting{}, bad
	}
	if n > math.MaxInt32/mult {
		return setting{}, errors.New("duration too long")
	}
	n *= mult
	return setting{s: strconv.FormatInt(n, 10), n: n}, nil
}

// parseSize accepts N with an optional unit B, K, KB, M, MB, G, GB, T, TB
// (powers of 1024, case-insensitive), or N% (0-100). n is bytes or percent;
// the canonical text is bytes in decimal or "N%".
func parseSize(raw string) (setting, error) {
	bad := errors.New("want N[B,K,KB,M,MB,G,GB,T,TB] or N%")
	n, unit, ok := leadingDigits(raw)
	if !ok {
		return setting{}, bad
	}
	if unit == "%" {
		if n > 100 {
			return setting{}, errors.New("percentage above 100")
		}
		return setting{s: strconv.FormatInt(n, 10) + "%", n: n}, nil
	}
	var shift uint
	switch strings.ToUpper(unit) {
	case "", "B":
	case "K", "KB":
		shift = 10
	case "M", "MB":
		shift = 20
	case "G", "GB":
		shift = 30
	case "T", "TB":
		shift = 40
	default:
		return setting{}, bad
	}
	if n > math.MaxInt64>>shift {
		return setting{}, errors.New("size too large")
	}
	n <<= shift
	return setting{s: strconv.FormatInt(n, 10), n: n}, nil
}

// choice returns the word of the comma-separated choices that equals word
// (ASCII case-insensitive).
func choice(choices, word string) (string, bool) {
	for rest := choices; rest != ""; {
		var c string
		c, rest, _ = strings.Cut(rest, ",")
		if foldCmp(c, word) == 0 {
			return c, true
		}
	}
	return "", false
}

// parseList accepts a comma-separated list of choices; empty items are
// skipped, as upstream's strtok does.
func parseList(choices, raw string) (setting, error) {
	var out []string
	for rest := raw; rest != ""; {
		var w string
		w, rest, _ = strings.Cut(rest, ",")
		if w = strings.TrimSpace(w); w == "" {
			continue
		}
		c, ok := choice(choices, w)
		if !ok {
			return setting{}, errors.New("unknown item " + strconv.Quote(w) + ", want items of " + choices)
		}
		out = append(out, c)
	}
	return setting{s: strings.Join(out, ",")}, nil
}
