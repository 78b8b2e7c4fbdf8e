package chat

// lastTurnDigest is the last turn of a conversation cut down to what a
// follow-up needs: the question, and the final answer with a summary of the
// turn's table (the same summary the model saw), without the tool calls
// and their results that made the turn too large to keep whole.
func lastTurnDigest(t Turn) []Message {
	answer := t.Answer
	if t.Table != nil {
		collection := ""
		if len(t.Table.Sources) > 0 {
			collection = t.Table.Sources[0].Collection
		}
		answer += "\n\nThe table of this answer: " + summarize("previous", collection, t.Table)
	}
	return []Message{{Role: RoleUser, Content: t.Question}, {Role: RoleAssistant, Content: answer}}
}
