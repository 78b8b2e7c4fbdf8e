package openai

import "strings"

// redactor removes the API key from text bound for errors and logs. Besides
// the exact key it masks anything shaped like an OpenAI key ("sk-..."),
// because the provider echoes a partly masked key in its 401 message, and
// even a fragment of a key does not belong in a log.
type redactor struct{ key string }

const redacted = "[redacted]"

func (r redactor) redact(s string) string {
	if r.key != "" {
		s = strings.ReplaceAll(s, r.key, redacted)
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "sk-")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		j := i + len("sk-")
		if i > 0 && keyChar(s[i-1]) {
			// Part of a word such as "task-based", not a key.
			b.WriteString(s[i:j])
			s = s[j:]
			continue
		}
		for j < len(s) && keyChar(s[j]) {
			j++
		}
		b.WriteString(redacted)
		s = s[j:]
	}
}

func keyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '*' || c == '.'
}
