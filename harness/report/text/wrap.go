package text

import (
	"strings"
	"unicode/utf8"
)

// width is the number of terminal cells s takes: its runes (every symbol
// the reports use is one cell wide).
func width(s string) int { return utf8.RuneCountInString(s) }

// truncate cuts s to at most n cells, marking the cut with "…".
func truncate(s string, n int) string {
	if width(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// truncateMiddle cuts s to at most n cells by replacing its middle with
// "…": half of what is kept from the start, half from the end (a test
// ID's package and test, and its last subtest).
func truncateMiddle(s string, n int) string {
	if width(s) <= n {
		return s
	}
	if n < 8 {
		return truncate(s, n)
	}
	r := []rune(s)
	head := (n - 1) / 2
	tail := n - 1 - head
	return string(r[:head]) + "…" + string(r[len(r)-tail:])
}

// wrap breaks text into lines of at most limit cells: the first starts
// with first, the others with indent. It breaks at spaces, and inside a
// word only when the word alone is wider than a line.
func wrap(first, indent, text string, limit int) []string {
	var lines []string
	cur, curW := first, width(first)
	fresh := true // nothing but the prefix on cur yet
	for _, word := range strings.Fields(text) {
		ww := width(word)
		switch {
		case fresh && curW+ww <= limit:
		case !fresh && curW+1+ww <= limit:
			cur += " "
			curW++
		default:
			if !fresh {
				lines = append(lines, cur)
				cur, curW, fresh = indent, width(indent), true
			}
			for curW+ww > limit && limit-curW > 0 {
				// A word wider than a whole line: break it.
				r := []rune(word)
				n := limit - curW
				lines = append(lines, cur+string(r[:n]))
				word, ww = string(r[n:]), ww-n
				cur, curW = indent, width(indent)
			}
		}
		cur += word
		curW += ww
		fresh = false
	}
	return append(lines, cur)
}

// hardWrap breaks one line of output (whose spacing matters) into pieces
// of at most limit cells, each after the first starting with indent.
func hardWrap(first, indent, line string, limit int) []string {
	r := []rune(line)
	avail := limit - width(first)
	if avail <= 0 || len(r) <= avail {
		return []string{first + line}
	}
	out := []string{first + string(r[:avail])}
	r = r[avail:]
	avail = max(limit-width(indent), 1)
	for len(r) > 0 {
		n := min(avail, len(r))
		out = append(out, indent+string(r[:n]))
		r = r[n:]
	}
	return out
}

// shellWrap breaks a shell command line into lines of at most limit cells
// joined by backslash-newline, so that it can still be pasted: it breaks
// between words outside quotes, and inside a word too long for a line
// (the shell removes a backslash-newline there too, and a single-quoted
// word is closed and reopened around it); the line after such a break
// starts at the margin, since an indent would split the word.
func shellWrap(first, indent, cmd string, limit int) []string {
	words := shellWords(cmd)
	var lines []string
	cur := first
	fresh := true
	for _, word := range words {
		sep := " "
		if fresh {
			sep = ""
		}
		if width(cur)+len(sep)+width(word)+2 <= limit {
			cur += sep + word
			fresh = false
			continue
		}
		if !fresh {
			lines = append(lines, cur+" \\")
			cur = indent
		}
		quoted := len(word) > 2 && word[0] == '\'' && word[len(word)-1] == '\'' && strings.Count(word, "'") == 2
		for width(cur)+width(word)+2 > limit && limit-width(cur)-3 > 0 {
			r := []rune(word)
			if quoted {
				// 'a b c' becomes 'a b'\<newline>' c': the same word.
				n := limit - width(cur) - 2
				lines = append(lines, cur+string(r[:n])+`'\`)
				word, cur = "'"+string(r[n:]), ""
				continue
			}
			n := limit - width(cur) - 1
			lines = append(lines, cur+string(r[:n])+`\`)
			word, cur = string(r[n:]), ""
		}
		cur += word
		fresh = false
	}
	return append(lines, cur)
}

// shellWords splits a command line at spaces outside single and double
// quotes, keeping the quotes.
func shellWords(cmd string) []string {
	var words []string
	var b strings.Builder
	var quote rune
	for _, r := range cmd {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == ' ':
			if b.Len() > 0 {
				words = append(words, b.String())
				b.Reset()
			}
			continue
		}
		b.WriteRune(r)
	}
	if b.Len() > 0 {
		words = append(words, b.String())
	}
	return words
}
