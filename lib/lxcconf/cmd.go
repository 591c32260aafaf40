package lxcconf

// splitState is where SplitCommand is in its input.
type splitState uint8

const (
	inSpace  splitState = iota // between words
	inWord                     // in an unquoted word
	inQuote                    // in a "quoted" word
	inEscape                   // after a backslash inside quotes
)

// SplitCommand splits lxc.init.cmd into argv as Pantavisor's LXC does
// (split_init_cmd in its lxccontainer.c; upstream LXC splits at spaces
// only, which agrees on unquoted text):
//   - words are separated by spaces; tabs are part of words;
//   - "double quotes" make one word, which may hold spaces and be empty;
//     a quote in an unquoted word ends that word and opens a quoted one;
//   - inside quotes, \" and \\ stand for " and \, any other backslash is kept;
//   - single quotes are ordinary characters;
//   - an unterminated quote keeps its opening '"' in the last word.
//
// It returns nil for an empty or blank command.
func SplitCommand(s string) []string {
	var out []string
	var cur []byte
	state := inSpace
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch state {
		case inSpace:
			cur = cur[:0]
			if c == '"' {
				state = inQuote
			} else if c != ' ' {
				cur, state = append(cur, c), inWord
			}
		case inWord:
			if c == '"' || c == ' ' {
				out = append(out, string(cur))
				cur, state = cur[:0], inSpace
				if c == '"' {
					state = inQuote
				}
				continue
			}
			cur = append(cur, c)
		case inQuote:
			if c == '"' {
				out, state = append(out, string(cur)), inSpace
			} else if c == '\\' {
				state = inEscape
			} else {
				cur = append(cur, c)
			}
		case inEscape:
			if c != '"' && c != '\\' {
				cur = append(cur, '\\')
			}
			cur, state = append(cur, c), inQuote
		}
	}
	return finishSplit(out, cur, state)
}

// finishSplit adds the word in progress at the end of the input.
func finishSplit(out []string, cur []byte, state splitState) []string {
	switch state {
	case inWord:
		out = append(out, string(cur))
	case inQuote:
		out = append(out, `"`+string(cur))
	case inEscape:
		out = append(out, `"`+string(cur)+`\`)
	}
	return out
}
