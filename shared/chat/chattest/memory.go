// Package chattest holds the contract suites that every implementation of
// a chat port must pass, so the in-process stand-ins cannot drift from the
// real adapters.
package chattest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/datachat/datachat/shared/chat"
)

// Memory is a full conversation store.
type Memory interface {
	chat.Memory
	chat.Conversations
}

// NewMemory returns an empty store for one subtest. Implementations that
// share a server give each call its own table or key space.
type NewMemory func(t *testing.T) Memory

// TestMemory runs the Memory and Conversations contract against newMemory.
func TestMemory(t *testing.T, newMemory NewMemory) {
	ctx := context.Background()
	turn := func(user, conv, q string) chat.Turn {
		return chat.Turn{UserID: user, ConversationID: conv, Question: q, Answer: "a:" + q, FinishReason: chat.FinishStop,
			Messages: []chat.Message{
				{Role: chat.RoleAssistant, ToolCalls: []chat.ToolCall{{ID: "c1", Name: "query", Arguments: `{"collection":"X"}`}}},
				{Role: chat.RoleTool, ToolCallID: "c1", Content: `{"rows":[]}`},
				{Role: chat.RoleAssistant, Content: "a:" + q},
			}}
	}

	t.Run("AppendThenHistory", func(t *testing.T) {
		m := newMemory(t)
		for i := 1; i <= 3; i++ {
			got, err := m.Append(ctx, turn("u1", "c1", fmt.Sprintf("q%d", i)))
			if err != nil {
				t.Fatalf("Append %d: %v", i, err)
			}
			if got.Seq != i || got.CreatedAt.IsZero() {
				t.Fatalf("Append %d: got seq %d created %v, want seq %d and a time", i, got.Seq, got.CreatedAt, i)
			}
		}
		h, err := m.History(ctx, "u1", "c1", 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != 2 || h[0].Question != "q2" || h[1].Question != "q3" {
			t.Fatalf("History limit 2: got %v, want q2, q3", questions(h))
		}
		if len(h[1].Messages) != 3 || h[1].Messages[1].ToolCallID != "c1" {
			t.Fatalf("History lost the turn's messages: %+v", h[1].Messages)
		}
		all, err := m.Turns(ctx, "u1", "c1")
		if err != nil || len(all) != 3 {
			t.Fatalf("Turns: got %d turns, err %v; want 3", len(all), err)
		}
	})

	t.Run("SourceAndCitationsRoundTrip", func(t *testing.T) {
		m := newMemory(t)
		tbl, col, row := "t2", "pct_change", 0
		in := turn("u1", "prov", "How much did the S&P 500 fall in 2008?")
		in.Table = &chat.Table{
			ID: "t2", Columns: []chat.Column{{Name: "pct_change", Type: chat.TypeNumber}}, Rows: [][]any{{-37.58}}, TotalRows: 1,
			Source: &chat.Provenance{Tool: chat.ToolCompute, Table: "t1",
				Inputs: []*chat.Provenance{{Tool: chat.ToolQuery, Collection: "SP500", Fields: []string{"date", "close"},
					Filters: []chat.Filter{{Field: "date", Op: chat.OpGte, Value: "2008-01-01"}}, Sort: []chat.Sort{{Field: "date", Desc: true}}, Limit: 1}},
				Steps: []chat.ComputeStep{{Op: "change", Args: json.RawMessage(`{"column":"close","op":"change"}`)}},
				Notes: []string{"rows were ordered by date first"}},
		}
		in.Citations = []chat.Citation{{Text: "37.58%", Value: 37.58, Table: &tbl, Row: &row, Column: &col}, {Text: "12", Value: 12}}
		if _, err := m.Append(ctx, in); err != nil {
			t.Fatal(err)
		}
		got, err := m.Turns(ctx, "u1", "prov")
		if err != nil || len(got) != 1 {
			t.Fatalf("Turns: %v, %v", got, err)
		}
		want, _ := json.Marshal(struct {
			T *chat.Table
			C []chat.Citation
			V bool
		}{in.Table, in.Citations, in.Verified})
		have, _ := json.Marshal(struct {
			T *chat.Table
			C []chat.Citation
			V bool
		}{got[0].Table, got[0].Citations, got[0].Verified})
		if string(want) != string(have) {
			t.Fatalf("stored turn changed:\n got %s\nwant %s", have, want)
		}
	})

	t.Run("OtherUserIsNotFound", func(t *testing.T) {
		m := newMemory(t)
		if _, err := m.Append(ctx, turn("alice", "conv", "mine")); err != nil {
			t.Fatal(err)
		}
		if _, err := m.History(ctx, "bob", "conv", 10); chat.ErrorCode(err) != chat.CodeNotFound {
			t.Fatalf("History of another user's conversation: got %v, want not_found", err)
		}
		if _, err := m.Turns(ctx, "bob", "conv"); chat.ErrorCode(err) != chat.CodeNotFound {
			t.Fatalf("Turns of another user's conversation: got %v, want not_found", err)
		}
		if err := m.Delete(ctx, "bob", "conv"); chat.ErrorCode(err) != chat.CodeNotFound {
			t.Fatalf("Delete of another user's conversation: got %v, want not_found", err)
		}
		if list, _, err := m.List(ctx, "bob", 10, ""); err != nil || len(list) != 0 {
			t.Fatalf("List of bob: got %v, %v; want nothing", list, err)
		}
		if h, err := m.History(ctx, "alice", "conv", 10); err != nil || len(h) != 1 {
			t.Fatalf("alice's own history after bob's attempts: %v, %v", h, err)
		}
	})

	t.Run("UnknownConversation", func(t *testing.T) {
		m := newMemory(t)
		if _, err := m.History(ctx, "u", "nope", 10); chat.ErrorCode(err) != chat.CodeNotFound {
			t.Fatalf("got %v, want not_found", err)
		}
	})

	t.Run("ConcurrentAppendsOneConversation", func(t *testing.T) {
		m := newMemory(t)
		const n = 50
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				if _, err := m.Append(ctx, turn("u", "race", fmt.Sprintf("q%02d", i))); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("Append: %v", err)
		}
		got, err := m.Turns(ctx, "u", "race")
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for i, tr := range got {
			if tr.Seq != i+1 {
				t.Fatalf("turn %d has seq %d; want %d (order must be consistent)", i, tr.Seq, i+1)
			}
			if seen[tr.Question] {
				t.Fatalf("question %s stored twice", tr.Question)
			}
			seen[tr.Question] = true
		}
		if len(seen) != n {
			t.Fatalf("stored %d distinct turns, want %d", len(seen), n)
		}
		list, _, err := m.List(ctx, "u", 10, "")
		if err != nil || len(list) != 1 || list[0].Turns != n {
			t.Fatalf("List after %d appends: %+v, %v", n, list, err)
		}
	})

	t.Run("ListPagesNewestFirst", func(t *testing.T) {
		m := newMemory(t)
		const n = 7
		for i := range n {
			if _, err := m.Append(ctx, turn("p", fmt.Sprintf("c%d", i), fmt.Sprintf("question %d", i))); err != nil {
				t.Fatal(err)
			}
		}
		// Touch c0 last so it becomes the newest.
		if _, err := m.Append(ctx, turn("p", "c0", "again")); err != nil {
			t.Fatal(err)
		}
		var ids []string
		cursor := ""
		for page := 0; ; page++ {
			list, next, err := m.List(ctx, "p", 3, cursor)
			if err != nil {
				t.Fatalf("List page %d: %v", page, err)
			}
			if len(list) > 3 {
				t.Fatalf("page %d holds %d conversations, limit 3", page, len(list))
			}
			for _, c := range list {
				ids = append(ids, c.ID)
			}
			if next == "" {
				break
			}
			cursor = next
			if page > n {
				t.Fatal("pagination does not end")
			}
		}
		if len(ids) != n || ids[0] != "c0" {
			t.Fatalf("listed %v; want %d conversations with c0 first", ids, n)
		}
		seen := map[string]bool{}
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("%s listed twice: %v", id, ids)
			}
			seen[id] = true
		}
		list, _, err := m.List(ctx, "p", 1, "")
		if err != nil || list[0].Title != "question 0" || list[0].Turns != 2 {
			t.Fatalf("summary of c0: %+v, %v; want title from the first question and 2 turns", list, err)
		}
		if _, _, err := m.List(ctx, "p", 3, "not-a-cursor!"); chat.ErrorCode(err) != chat.CodeInvalid {
			t.Fatalf("malformed cursor: got %v, want invalid", err)
		}
	})

	t.Run("SeqGuessIsAHint", func(t *testing.T) {
		m := newMemory(t)
		// Unknown, right, stale, too high, stale: seqs stay consecutive.
		for i, guess := range []int{0, 2, 1, 9, 2} {
			tr := turn("g", "c", fmt.Sprintf("q%d", i))
			tr.Seq = guess
			got, err := m.Append(ctx, tr)
			if err != nil {
				t.Fatalf("Append %d with guess %d: %v", i, guess, err)
			}
			if got.Seq != i+1 {
				t.Fatalf("Append %d with guess %d: got seq %d, want %d", i, guess, got.Seq, i+1)
			}
		}
	})

	t.Run("SeparatorsInIDs", func(t *testing.T) {
		m := newMemory(t)
		// Pairs that would share a key if ids were joined with a separator
		// such as '#' without escaping it. Every user id is distinct.
		pairs := [][2][2]string{
			{{"alice", "x#CONV#y"}, {"alice#CONV#x", "y"}},
			{{"b#1", "c"}, {"b%231", "c"}},
			{{"d", "e#f"}, {"d#e", "f"}},
			{{"USER#g", "c"}, {"g", "c"}},
		}
		for _, p := range pairs {
			mine, theirs := p[0], p[1]
			if _, err := m.Append(ctx, turn(mine[0], mine[1], "mine")); err != nil {
				t.Fatal(err)
			}
			if _, err := m.History(ctx, theirs[0], theirs[1], 10); chat.ErrorCode(err) != chat.CodeNotFound {
				t.Fatalf("%q/%q reads %q/%q: %v; want not_found", theirs[0], theirs[1], mine[0], mine[1], err)
			}
			if list, _, err := m.List(ctx, theirs[0], 10, ""); err != nil || len(list) != 0 {
				t.Fatalf("%q lists %+v, %v; want nothing", theirs[0], list, err)
			}
		}
	})

	t.Run("DeleteThenReuseID", func(t *testing.T) {
		m := newMemory(t)
		for _, q := range []string{"old 1", "old 2"} {
			if _, err := m.Append(ctx, turn("r", "c", q)); err != nil {
				t.Fatal(err)
			}
		}
		if err := m.Delete(ctx, "r", "c"); err != nil {
			t.Fatal(err)
		}
		got, err := m.Append(ctx, turn("r", "c", "new"))
		if err != nil || got.Seq != 1 {
			t.Fatalf("first Append after Delete: seq %d, %v; want 1", got.Seq, err)
		}
		h, err := m.History(ctx, "r", "c", 10)
		if err != nil || len(h) != 1 || h[0].Question != "new" {
			t.Fatalf("History after reuse: %v, %v; want only the new turn", questions(h), err)
		}
		list, _, err := m.List(ctx, "r", 10, "")
		if err != nil || len(list) != 1 || list[0].Title != "new" || list[0].Turns != 1 {
			t.Fatalf("summary after reuse: %+v, %v; want title \"new\" and 1 turn", list, err)
		}
	})

	t.Run("FollowUpToDeletedConversationIsNotFound", func(t *testing.T) {
		m := newMemory(t)
		first, err := m.Append(ctx, turn("f", "c", "first"))
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Delete(ctx, "f", "c"); err != nil {
			t.Fatal(err)
		}
		late := turn("f", "c", "late follow-up")
		late.Seq = first.Seq + 1
		if _, err := m.Append(ctx, late); chat.ErrorCode(err) != chat.CodeNotFound {
			t.Fatalf("follow-up Append after Delete: got %v, want not_found", err)
		}
		if _, err := m.Turns(ctx, "f", "c"); chat.ErrorCode(err) != chat.CodeNotFound {
			t.Fatalf("Turns after a refused follow-up: got %v, want not_found (the conversation came back)", err)
		}
		if list, _, err := m.List(ctx, "f", 10, ""); err != nil || len(list) != 0 {
			t.Fatalf("List after a refused follow-up: %+v, %v; want nothing", list, err)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		m := newMemory(t)
		for i := range 3 {
			if _, err := m.Append(ctx, turn("d", "gone", fmt.Sprint(i))); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := m.Append(ctx, turn("d", "kept", "x")); err != nil {
			t.Fatal(err)
		}
		if err := m.Delete(ctx, "d", "gone"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if err := m.Delete(ctx, "d", "gone"); chat.ErrorCode(err) != chat.CodeNotFound {
			t.Fatalf("second Delete: got %v, want not_found", err)
		}
		if _, err := m.Turns(ctx, "d", "gone"); chat.ErrorCode(err) != chat.CodeNotFound {
			t.Fatalf("Turns after Delete: got %v, want not_found", err)
		}
		list, _, err := m.List(ctx, "d", 10, "")
		if err != nil || len(list) != 1 || list[0].ID != "kept" {
			t.Fatalf("List after Delete: %+v, %v; want only kept", list, err)
		}
	})
}

func questions(ts []chat.Turn) []string {
	q := make([]string, len(ts))
	for i, t := range ts {
		q[i] = t.Question
	}
	return q
}

// IsCode reports whether err carries code; a helper for adapter tests.
func IsCode(err error, code chat.Code) bool {
	var e *chat.Error
	return errors.As(err, &e) && e.Code == code
}
