package offline

import "strings"

// streamText hands text to onText a word at a time (each piece keeps its
// trailing space, so the pieces join back to text), as a hosted model
// streams its answer; a nil onText means nobody listens.
func streamText(onText func(string), text string) {
	if onText == nil {
		return
	}
	for _, piece := range strings.SplitAfter(text, " ") {
		if piece != "" {
			onText(piece)
		}
	}
}
