package chat

import (
	"unicode"
	"unicode/utf8"
)

// EstimateTokens approximates the tokens of text in OpenAI's o200k
// encoding (the GPT-4o and GPT-4.1 family) without its 2 MB vocabulary. It
// follows how that tokenizer splits text: a word is one token (a space
// before it included) up to about ten letters, an all-capitals run such as
// a ticker is two letters a token, digits go three to a token (so every
// number costs several), a space before a number is a token of its own,
// and runs of punctuation merge, up to four characters a token (JSON's
// `":{"` is one). TestTokenEstimateWithinFifteenPercent checks it against
// the real tokenizer on messages, tool declarations and table summaries;
// bytes/4, which this replaced, counted a table summary at about half.
// Used to check budgets before a request, when the provider's own count is
// not yet known.
func EstimateTokens(text string) int {
	n := 0
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		start := i
		switch {
		case isLetter(r):
			upper := true
			for i < len(text) {
				r, size = utf8.DecodeRuneInString(text[i:])
				if !isLetter(r) {
					break
				}
				upper = upper && unicode.IsUpper(r)
				i += size
			}
			n += letterTokens(text[start:i], upper)
		case r >= '0' && r <= '9':
			for i < len(text) && text[i] >= '0' && text[i] <= '9' {
				i++
			}
			n += (i - start + 2) / 3
		case r == ' ':
			i += size
			// A single space joins the word after it; before anything
			// else (a number, another space) it is a token of its own.
			if i < len(text) {
				if next, _ := utf8.DecodeRuneInString(text[i:]); isLetter(next) {
					continue
				}
			}
			n++
		case unicode.IsSpace(r):
			for i < len(text) {
				r, size = utf8.DecodeRuneInString(text[i:])
				if !unicode.IsSpace(r) || r == ' ' {
					break
				}
				i += size
			}
			n++
		case r >= utf8.RuneSelf:
			// Other scripts and symbols: about a token a character.
			i += size
			n++
		default:
			for i < len(text) {
				r, size = utf8.DecodeRuneInString(text[i:])
				if isLetter(r) || unicode.IsSpace(r) || (r >= '0' && r <= '9') || r >= utf8.RuneSelf {
					break
				}
				i += size
			}
			n += (i - start + 3) / 4
		}
	}
	return n
}

func isLetter(r rune) bool {
	return r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || (r >= utf8.RuneSelf && unicode.IsLetter(r))
}

// letterTokens estimates a run of letters: common words are one token up
// to about ten letters, longer ones a token per seven, all capitals (a
// ticker, an acronym) a token per two after the first three.
func letterTokens(word string, upper bool) int {
	n := utf8.RuneCountInString(word)
	switch {
	case upper && n > 3:
		return (n + 1) / 2
	case n <= 10:
		return 1
	}
	return (n + 6) / 7
}
