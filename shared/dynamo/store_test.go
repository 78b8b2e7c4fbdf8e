package dynamo_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/chat/chattest"
	"github.com/datachat/datachat/shared/dynamo"
)

var ctx = context.Background()

func TestMemoryContract(t *testing.T) {
	t.Parallel()
	chattest.TestMemory(t, func(t *testing.T) chattest.Memory {
		return newFixture(t, dynamo.Options{}).store
	})
}

func turn(user, conv, q string) chat.Turn {
	return chat.Turn{UserID: user, ConversationID: conv, Question: q, Answer: "a:" + q, FinishReason: chat.FinishStop}
}

func mustAppend(t *testing.T, s *dynamo.Store, tr chat.Turn) chat.Turn {
	t.Helper()
	got, err := s.Append(ctx, tr)
	if err != nil {
		t.Fatalf("Append %s/%s %q: %v", tr.UserID, tr.ConversationID, tr.Question, err)
	}
	return got
}

// A chat turn is History then Append: one Query and one GetItem of the
// summary (sent together), then one UpdateItem (the seq) and one PutItem
// (the turn), for a new conversation and for a running one.
func TestRoundTripsPerTurn(t *testing.T) {
	t.Parallel()
	f := newFixture(t, dynamo.Options{})
	chatTurn := func(q string) {
		t.Helper()
		f.ops.reset()
		next := 0
		h, err := f.store.History(ctx, "u", "c", 10)
		switch {
		case err == nil:
			next = h[len(h)-1].Seq + 1
		case chat.ErrorCode(err) != chat.CodeNotFound:
			t.Fatal(err)
		}
		tr := turn("u", "c", q)
		tr.Seq = next
		mustAppend(t, f.store, tr)
		if r, g, u, p, total := f.ops.get("Query"), f.ops.get("GetItem"), f.ops.get("UpdateItem"), f.ops.get("PutItem"), f.ops.total(); r != 1 || g != 1 || u != 1 || p != 1 || total != 4 {
			t.Fatalf("turn %q took %d Query, %d GetItem, %d UpdateItem, %d PutItem, %d operations in all; want 1 of each, 4", q, r, g, u, p, total)
		}
	}
	chatTurn("first")
	chatTurn("second")
	chatTurn("third")
	t.Logf("per turn: 1 Query + 1 GetItem in parallel (History), then 1 UpdateItem + 1 PutItem (Append): 3 round trips, 2 writes")
}

// 200 appends racing on one conversation are all kept once, in order,
// with seqs 1..200, and cost a bounded number of writes each: two for a
// follow-up (the seq, the turn), three at most for an append that also
// tried to create the conversation. The summary counts 200.
func TestConcurrentAppends(t *testing.T) {
	t.Parallel()
	const n = 200
	for _, tc := range []struct {
		name          string
		guess         int // every racer's seq guess
		first         bool
		maxWritesEach int
	}{
		{"follow-ups", 2, true, 2},
		{"all creating", 1, false, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, dynamo.Options{})
			want := 0
			if tc.first {
				mustAppend(t, f.store, turn("u", "race", "q-first"))
				want = 1
			}
			f.ops.reset()
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Go(func() {
					tr := turn("u", "race", fmt.Sprintf("q%03d", i))
					tr.Seq = tc.guess
					if _, err := f.store.Append(ctx, tr); err != nil {
						errs <- err
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			want += n
			writes := f.ops.get("UpdateItem") + f.ops.get("PutItem") + f.ops.get("TransactWriteItems") + f.ops.get("DeleteItem") + f.ops.get("BatchWriteItem")
			if writes > tc.maxWritesEach*n || f.ops.get("PutItem") != n {
				t.Fatalf("%d appends took %d writes (%d UpdateItem, %d PutItem); want at most %d each", n, writes, f.ops.get("UpdateItem"), f.ops.get("PutItem"), tc.maxWritesEach)
			}
			turns, err := f.store.Turns(ctx, "u", "race")
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for i, tr := range turns {
				if tr.Seq != i+1 || seen[tr.Question] {
					t.Fatalf("turn %d: seq %d, question %s (seen before: %v)", i, tr.Seq, tr.Question, seen[tr.Question])
				}
				seen[tr.Question] = true
			}
			if len(turns) != want {
				t.Fatalf("stored %d turns, want %d", len(turns), want)
			}
			list, _, err := f.store.List(ctx, "u", 10, "")
			if err != nil || len(list) != 1 || list[0].Turns != want {
				t.Fatalf("List: %+v, %v; want one conversation of %d turns", list, err, want)
			}
			if items := f.scan(t); len(items) != want+1 {
				t.Fatalf("table holds %d items, want %d turns and a summary", len(items), want)
			}
			t.Logf("%d racing appends (%s): %d writes, %.2f per turn (%d UpdateItem, %d PutItem)", n, tc.name, writes, float64(writes)/n, f.ops.get("UpdateItem"), f.ops.get("PutItem"))
		})
	}
}

// An append that took its seq just before a Delete, and stores its turn
// after it, brings nothing back: the conversation stays not found, is not
// listed, and a new conversation under the id holds only its own turns.
func TestDeleteRacingAnAppend(t *testing.T) {
	t.Parallel()
	var store atomic.Pointer[dynamo.Store]
	var armed atomic.Bool
	deleteBeforePut := func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("deleteBeforePut",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if _, ok := in.Parameters.(*dynamodb.PutItemInput); ok && armed.CompareAndSwap(true, false) {
					if err := store.Load().Delete(ctx, "u", "c"); err != nil {
						return middleware.InitializeOutput{}, middleware.Metadata{}, fmt.Errorf("delete injected before the put: %w", err)
					}
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	}
	f := newFixture(t, dynamo.Options{}, deleteBeforePut)
	store.Store(f.store)
	mustAppend(t, f.store, turn("u", "c", "first"))
	armed.Store(true)
	tr := turn("u", "c", "raced the delete")
	tr.Seq = 2
	mustAppend(t, f.store, tr) // its seq was taken before the delete
	if armed.Load() {
		t.Fatal("the delete was not injected")
	}
	if _, err := f.store.Turns(ctx, "u", "c"); chat.ErrorCode(err) != chat.CodeNotFound {
		t.Fatalf("Turns after the delete: %v, want not_found", err)
	}
	if _, err := f.store.TurnPage(ctx, "u", "c", 0, 10); chat.ErrorCode(err) != chat.CodeNotFound {
		t.Fatalf("TurnPage after the delete: %v, want not_found", err)
	}
	if list, _, err := f.store.List(ctx, "u", 10, ""); err != nil || len(list) != 0 {
		t.Fatalf("List after the delete: %+v, %v", list, err)
	}
	got := mustAppend(t, f.store, turn("u", "c", "new start"))
	if got.Seq != 1 {
		t.Fatalf("first turn of the id after delete has seq %d", got.Seq)
	}
	all, err := f.store.Turns(ctx, "u", "c")
	if err != nil || len(all) != 1 || all[0].Question != "new start" {
		t.Fatalf("Turns of the new conversation: %v, %v; want only its own turn", questions(all), err)
	}
	h, err := f.store.History(ctx, "u", "c", 10)
	if err != nil || len(h) != 1 {
		t.Fatalf("History of the new conversation: %v, %v", questions(h), err)
	}
}

func questions(ts []chat.Turn) []string {
	var qs []string
	for _, t := range ts {
		qs = append(qs, fmt.Sprintf("%d:%s", t.Seq, t.Question))
	}
	return qs
}

// 200 users append 3 turns each, all at once, to a conversation with the
// same id: each user sees exactly their own.
func TestManyUsers(t *testing.T) {
	t.Parallel()
	f := newFixture(t, dynamo.Options{})
	const users, turns = 200, 3
	user := func(i int) string { return fmt.Sprintf("user-%03d", i) }
	var wg sync.WaitGroup
	errs := make(chan error, users*turns)
	sem := make(chan struct{}, 32)
	for u := range users {
		for k := range turns {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				if _, err := f.store.Append(ctx, turn(user(u), "same-id", fmt.Sprintf("%s q%d", user(u), k))); err != nil {
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for u := range users {
		list, _, err := f.store.List(ctx, user(u), 10, "")
		if err != nil || len(list) != 1 || list[0].ID != "same-id" || list[0].Turns != turns {
			t.Fatalf("%s List: %+v, %v; want one conversation of %d turns", user(u), list, err, turns)
		}
		got, err := f.store.Turns(ctx, user(u), "same-id")
		if err != nil || len(got) != turns {
			t.Fatalf("%s Turns: %d turns, %v", user(u), len(got), err)
		}
		for _, tr := range got {
			if !strings.HasPrefix(tr.Question, user(u)+" ") || tr.UserID != user(u) {
				t.Fatalf("%s sees %q of user %q", user(u), tr.Question, tr.UserID)
			}
		}
	}
}

func TestInvalidIDs(t *testing.T) {
	t.Parallel()
	f := newFixture(t, dynamo.Options{})
	for _, tc := range []struct{ user, conv string }{
		{"", "c"}, {"u", ""}, {strings.Repeat("u", 257), "c"}, {"u", "\xff"},
	} {
		if _, err := f.store.Append(ctx, turn(tc.user, tc.conv, "q")); chat.ErrorCode(err) != chat.CodeInvalid {
			t.Errorf("Append user %q conv %q: got %v, want invalid", tc.user, tc.conv, err)
		}
	}
	// The longest ids, every byte escaped, still make valid keys.
	long := strings.Repeat("#", 256)
	mustAppend(t, f.store, turn(long, long, "q"))
	if h, err := f.store.History(ctx, long, long, 1); err != nil || len(h) != 1 {
		t.Fatalf("History of the longest ids: %v, %v", h, err)
	}
}

// A cursor carries no user: another user's cursor pages through the
// caller's own conversations.
func TestCursorOfAnotherUser(t *testing.T) {
	t.Parallel()
	f := newFixture(t, dynamo.Options{})
	for i := range 3 {
		mustAppend(t, f.store, turn("alice", fmt.Sprintf("a%d", i), "q"))
		mustAppend(t, f.store, turn("bob", fmt.Sprintf("b%d", i), "q"))
	}
	_, cursor, err := f.store.List(ctx, "alice", 1, "")
	if err != nil || cursor == "" {
		t.Fatalf("alice page 1: %q, %v", cursor, err)
	}
	list, _, err := f.store.List(ctx, "bob", 10, cursor)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		if !strings.HasPrefix(c.ID, "b") {
			t.Fatalf("bob with alice's cursor lists %q", c.ID)
		}
	}
}

// Listing more conversations than fit in one of DynamoDB's 1 MB pages:
// one List call gathers them all, newest first, and pages of 250 join up
// without gaps or repeats.
func TestListBeyondOneMegabyte(t *testing.T) {
	t.Parallel()
	f := newFixture(t, dynamo.Options{})
	const n = 1200
	// The longest ids (they appear in three attributes) and full-length
	// titles make each summary about 1 KB, so n of them are more than 1 MB
	// in the index. (ASCII, because dynalite counts a string's size in
	// UTF-16 units where DynamoDB counts UTF-8 bytes.)
	id := func(i int) string { return fmt.Sprintf("%04d-%s", i, strings.Repeat("x", 251)) }
	question := strings.Repeat("How did the S&P 500 close in 2008 compared with 2007? ", 3)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if _, err := f.store.Append(ctx, turn("lister", id(i), question)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	bytes := 0
	for _, it := range f.scan(t) {
		if str(it, "sk") == "CONV" {
			bytes += dynamo.ItemSize(it)
		}
	}
	if bytes <= 1<<20 {
		t.Fatalf("summaries take %d bytes; the test needs more than 1 MiB", bytes)
	}

	f.ops.reset()
	all, next, err := f.store.List(ctx, "lister", n+10, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != n || next != "" {
		t.Fatalf("List(%d) returned %d conversations and cursor %q; want %d and none", n+10, len(all), next, n)
	}
	if q := f.ops.get("Query"); q < 2 {
		t.Fatalf("List over %d bytes of summaries took %d Query; want more than one page", bytes, q)
	}
	t.Logf("%d summaries, %d bytes: one List took %d Query pages", n, bytes, f.ops.get("Query"))
	for i := 1; i < len(all); i++ {
		if all[i].UpdatedAt.After(all[i-1].UpdatedAt) {
			t.Fatalf("conversation %d is newer than %d", i, i-1)
		}
	}

	var paged []string
	cursor := ""
	for page := 0; ; page++ {
		list, next, err := f.store.List(ctx, "lister", 250, cursor)
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		for _, c := range list {
			paged = append(paged, c.ID)
		}
		if next == "" {
			break
		}
		cursor = next
		if page > n/250+1 {
			t.Fatal("paging does not end")
		}
	}
	want := make([]string, len(all))
	for i, c := range all {
		want[i] = c.ID
	}
	if !slices.Equal(paged, want) {
		t.Fatalf("pages of 250 give %d ids, differing from one List of %d", len(paged), len(want))
	}
}

// Deleting a conversation of more than one batch removes every item; a
// second delete is not_found and other conversations stay.
func TestDelete(t *testing.T) {
	t.Parallel()
	f := newFixture(t, dynamo.Options{})
	for i := range 60 {
		mustAppend(t, f.store, turn("d", "big", fmt.Sprint(i)))
	}
	mustAppend(t, f.store, turn("d", "kept", "x"))
	mustAppend(t, f.store, turn("other", "big", "other user's"))
	f.ops.reset()
	if err := f.store.Delete(ctx, "d", "big"); err != nil {
		t.Fatal(err)
	}
	t.Logf("deleting 61 items took %d BatchWriteItem and %d DeleteItem", f.ops.get("BatchWriteItem"), f.ops.get("DeleteItem"))
	if err := f.store.Delete(ctx, "d", "big"); chat.ErrorCode(err) != chat.CodeNotFound {
		t.Fatalf("second Delete: %v, want not_found", err)
	}
	if _, err := f.store.Turns(ctx, "d", "big"); chat.ErrorCode(err) != chat.CodeNotFound {
		t.Fatalf("Turns after Delete: %v, want not_found", err)
	}
	items := f.scan(t)
	if len(items) != 4 {
		t.Fatalf("table holds %d items after Delete, want 4 (two conversations of one turn)", len(items))
	}
	if h, err := f.store.History(ctx, "other", "big", 5); err != nil || len(h) != 1 {
		t.Fatalf("other user's conversation of the same id: %v, %v", h, err)
	}
	// The id can be used again afterwards.
	if got := mustAppend(t, f.store, turn("d", "big", "again")); got.Seq != 1 {
		t.Fatalf("first turn after Delete has seq %d", got.Seq)
	}
}

// Every item carries the TTL attribute, in epoch seconds TTL after its write.
func TestTTLOnEveryItem(t *testing.T) {
	t.Parallel()
	f := newFixture(t, dynamo.Options{TTL: 48 * time.Hour})
	for i := range 3 {
		mustAppend(t, f.store, turn("u", "c", fmt.Sprint(i)))
		mustAppend(t, f.store, turn("u", fmt.Sprintf("c%d", i), "q"))
	}
	now := f.clock.Now()
	items := f.scan(t)
	if len(items) != 3+1+3*2 {
		t.Fatalf("%d items, want 10", len(items))
	}
	for _, it := range items {
		var exp int64
		if err := attributevalue.Unmarshal(it[dynamo.TTLAttribute], &exp); err != nil {
			t.Fatalf("item %s/%s has no numeric %s: %v", str(it, "pk"), str(it, "sk"), dynamo.TTLAttribute, err)
		}
		if d := time.Unix(exp, 0).Sub(now); d < 47*time.Hour || d > 48*time.Hour {
			t.Fatalf("item %s/%s expires in %v, want 48h", str(it, "pk"), str(it, "sk"), d)
		}
	}
}

// Items past their TTL are ignored until DynamoDB deletes them, and an
// expired conversation's id starts afresh.
func TestExpiry(t *testing.T) {
	t.Parallel()
	f := newFixture(t, dynamo.Options{TTL: 7 * 24 * time.Hour})
	mustAppend(t, f.store, turn("u", "old", "first"))
	mustAppend(t, f.store, turn("u", "old", "second"))
	mustAppend(t, f.store, turn("u", "old", "third"))
	mustAppend(t, f.store, turn("u", "long", "day 0"))
	f.clock.Advance(5 * 24 * time.Hour)
	mustAppend(t, f.store, turn("u", "long", "day 5"))
	f.clock.Advance(3 * 24 * time.Hour) // day 8

	if _, err := f.store.History(ctx, "u", "old", 10); chat.ErrorCode(err) != chat.CodeNotFound {
		t.Fatalf("History of an expired conversation: %v, want not_found", err)
	}
	if _, err := f.store.Turns(ctx, "u", "old"); chat.ErrorCode(err) != chat.CodeNotFound {
		t.Fatalf("Turns of an expired conversation: %v, want not_found", err)
	}
	if err := f.store.Delete(ctx, "u", "old"); chat.ErrorCode(err) != chat.CodeNotFound {
		t.Fatalf("Delete of an expired conversation: %v, want not_found", err)
	}
	list, _, err := f.store.List(ctx, "u", 10, "")
	if err != nil || len(list) != 1 || list[0].ID != "long" {
		t.Fatalf("List on day 8: %+v, %v; want only the conversation used on day 5", list, err)
	}
	h, err := f.store.History(ctx, "u", "long", 10)
	if err != nil || len(h) != 1 || h[0].Question != "day 5" {
		t.Fatalf("History on day 8: %v, %v; want the day-5 turn only (the day-0 turn expired)", h, err)
	}

	// The expired id is reused: a new conversation with seq 1 and its own
	// title, over items DynamoDB has not deleted yet (the old third turn
	// still sorts first and must be skipped).
	got := mustAppend(t, f.store, turn("u", "old", "new start"))
	if got.Seq != 1 {
		t.Fatalf("first turn of a reused id has seq %d", got.Seq)
	}
	mustAppend(t, f.store, turn("u", "old", "new second"))
	h, err = f.store.History(ctx, "u", "old", 10)
	if err != nil || len(h) != 2 || h[0].Question != "new start" || h[1].Question != "new second" {
		t.Fatalf("History of the reused id: %v, %v", h, err)
	}
	list, _, err = f.store.List(ctx, "u", 1, "")
	if err != nil || list[0].ID != "old" || list[0].Title != "new start" || list[0].Turns != 2 {
		t.Fatalf("summary of the reused id: %+v, %v", list, err)
	}
}

func TestJobsContract(t *testing.T) {
	t.Parallel()
	chattest.JobsContract(t, func(t *testing.T, now func() time.Time) chattest.JobStore {
		return newFixture(t, dynamo.Options{Now: now}).store
	})
}
