// Package dynamo stores conversations in one DynamoDB table: chat.Memory
// and chat.Conversations on aws-sdk-go-v2.
//
// Each turn is its own item, so no conversation ever meets the 400 KB item
// limit; a summary item per conversation carries the title, the times and
// the turn count, and a sparse index over the summaries lists a user's
// conversations by recency. See keys.go for the layout.
//
// A chat turn costs one read and one write: History is one Query, and
// Append is one TransactWriteItems that puts the turn and updates the
// summary together. The summary's turn count is the conversation's
// version: an append of turn n is conditional on the count being n-1, so
// racing appends never overwrite each other and seqs stay consecutive.
//
// Expiry: every item carries TTLAttribute, set to the time of its write
// plus Options.TTL. An append refreshes the summary and writes the new turn;
// older turns keep the expiry they were written with, so a conversation
// lives as long as it is used, and a turn older than the TTL drops out of it
// (DynamoDB deletes it). Reads ignore items whose expiry has passed, because
// DynamoDB deletes expired items only eventually.
package dynamo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/datachat/datachat/shared/chat"
)

// Client is the part of the DynamoDB API the store calls. *dynamodb.Client
// implements it.
type Client interface {
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
}

// Options configure a Store. Only Table is required.
type Options struct {
	// Table is the table's name (TABLE_NAME in the deployed functions).
	Table string
	// TTL is how long an item lives after its last write. Default 7 days.
	TTL time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// MaxAttempts bounds the SDK's standard retryer per call (throttling,
	// 5xx, connection errors). Default 3.
	MaxAttempts int
	// MaxBackoff caps the standard retryer's delay between attempts, which
	// is 20 s by default: far too long inside a 30 s API request. Default 1 s.
	MaxBackoff time.Duration
	// AppendAttempts bounds the transactions one Append sends. A failed
	// attempt returns the summary as it is then, so each further failure
	// means another append committed meanwhile: k appends racing on one
	// conversation need at most k attempts each. Default 100.
	AppendAttempts int
}

// DefaultTTL is how long a conversation is kept after its last turn.
const DefaultTTL = 7 * 24 * time.Hour

// Store is chat.Memory and chat.Conversations on one DynamoDB table. It
// holds only its configuration and the client, and is safe for concurrent use.
type Store struct {
	client         Client
	table          string
	ttl            time.Duration
	now            func() time.Time
	appendAttempts int
	callOpts       []func(*dynamodb.Options)
}

var (
	_ chat.Memory        = (*Store)(nil)
	_ chat.Conversations = (*Store)(nil)
)

// New returns a store on client's table. It never creates the table: see
// CreateTable.
func New(client Client, opts Options) (*Store, error) {
	if client == nil {
		return nil, errors.New("dynamo.New: client is nil")
	}
	if opts.Table == "" {
		return nil, errors.New("dynamo.New: Options.Table is empty; set TABLE_NAME to the conversations table")
	}
	if opts.TTL < 0 || opts.MaxAttempts < 0 || opts.MaxBackoff < 0 || opts.AppendAttempts < 0 {
		return nil, fmt.Errorf("dynamo.New: options must not be negative: %+v", opts)
	}
	if opts.TTL == 0 {
		opts.TTL = DefaultTTL
	}
	if opts.TTL < time.Second {
		return nil, fmt.Errorf("dynamo.New: TTL %v is shorter than the 1 s resolution of DynamoDB's TTL", opts.TTL)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = 3
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = time.Second
	}
	if opts.AppendAttempts == 0 {
		opts.AppendAttempts = 100
	}
	maxAttempts, maxBackoff := opts.MaxAttempts, opts.MaxBackoff
	return &Store{
		client:         client,
		table:          opts.Table,
		ttl:            opts.TTL,
		now:            opts.Now,
		appendAttempts: opts.AppendAttempts,
		// Keep the client's standard retryer (its retry quota is shared by
		// every call) and only bound it for this store's calls.
		callOpts: []func(*dynamodb.Options){func(o *dynamodb.Options) {
			if o.Retryer != nil {
				o.Retryer = retry.AddWithMaxBackoffDelay(retry.AddWithMaxAttempts(o.Retryer, maxAttempts), maxBackoff)
			}
		}},
	}, nil
}

// turnItem is a stored turn. The turn itself is JSON in Body: it is opaque
// to DynamoDB, its size is known exactly before writing, and table cells
// keep the JSON types the rest of the system uses.
type turnItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Seq       int    `dynamodbav:"seq"`
	ExpiresAt int64  `dynamodbav:"expires_at"`
	Body      string `dynamodbav:"body"`
	// Capped is set when the turn was cut to fit the item size limit.
	Capped bool `dynamodbav:"capped,omitempty"`
}

// summaryItem is a conversation's summary, the only kind of item in the
// list index.
type summaryItem struct {
	PK             string    `dynamodbav:"pk"`
	SK             string    `dynamodbav:"sk"`
	ListPK         string    `dynamodbav:"list_pk"`
	ListSK         string    `dynamodbav:"list_sk"`
	ConversationID string    `dynamodbav:"conversation_id"`
	Title          string    `dynamodbav:"title"`
	CreatedAt      time.Time `dynamodbav:"created_at"`
	UpdatedAt      time.Time `dynamodbav:"updated_at"`
	Turns          int       `dynamodbav:"turns"`
	ExpiresAt      int64     `dynamodbav:"expires_at"`
}

func (s summaryItem) conversation() chat.Conversation {
	return chat.Conversation{ID: s.ConversationID, Title: s.Title, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt, Turns: s.Turns}
}

// live reports whether an item with this expiry still counts at now.
func live(expiresAt int64, now time.Time) bool { return expiresAt > now.Unix() }

func keyOf(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: pk},
		attrSK: &types.AttributeValueMemberS{Value: sk},
	}
}

func notFound(conv string) error {
	return chat.Errorf(chat.CodeNotFound, "conversation %q not found", conv)
}

// History implements chat.Memory with one Query in the common case: the
// latest limit turns, newest first, read consistently so that a turn
// appended by the previous request is always seen.
func (s *Store) History(ctx context.Context, userID, conversationID string, limit int) ([]chat.Turn, error) {
	key, err := newConvKey(userID, conversationID)
	if err != nil {
		return nil, err
	}
	return s.turns(ctx, "History", key, limit)
}

// Turns implements chat.Conversations.
func (s *Store) Turns(ctx context.Context, userID, conversationID string) ([]chat.Turn, error) {
	key, err := newConvKey(userID, conversationID)
	if err != nil {
		return nil, err
	}
	return s.turns(ctx, "Turns", key, 0)
}

// turns returns the latest limit live turns (all when limit is 0), oldest
// first.
func (s *Store) turns(ctx context.Context, op string, key convKey, limit int) ([]chat.Turn, error) {
	now := s.now()
	kc := expression.Key(attrPK).Equal(expression.Value(key.pk())).And(expression.Key(attrSK).BeginsWith(turnPrefix))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return nil, s.fail(ctx, op, key, err)
	}
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ScanIndexForward:          aws.Bool(false),
		ConsistentRead:            aws.Bool(true),
	}
	if limit > 0 {
		in.Limit = aws.Int32(int32(min(limit, 1<<30)))
	}
	var out []chat.Turn
	for {
		page, err := s.client.Query(ctx, in, s.callOpts...)
		if err != nil {
			return nil, s.fail(ctx, op, key, err)
		}
		for _, raw := range page.Items {
			var it turnItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return nil, s.fail(ctx, op, key, fmt.Errorf("decode turn: %w", err))
			}
			if !live(it.ExpiresAt, now) {
				if len(out) > 0 {
					// Within one conversation expiry grows with seq, so every
					// older turn has expired too. (Expired turns newer than a
					// live one are left from an earlier, expired conversation
					// with the same id and are skipped.)
					return finishTurns(out, key)
				}
				continue
			}
			var t chat.Turn
			if err := json.Unmarshal([]byte(it.Body), &t); err != nil {
				return nil, s.fail(ctx, op, key, fmt.Errorf("decode turn %d body: %w", it.Seq, err))
			}
			t.UserID, t.ConversationID, t.Seq = key.user, key.conv, it.Seq
			out = append(out, t)
			if limit > 0 && len(out) == limit {
				return finishTurns(out, key)
			}
		}
		if page.LastEvaluatedKey == nil {
			return finishTurns(out, key)
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

func finishTurns(newestFirst []chat.Turn, key convKey) ([]chat.Turn, error) {
	if len(newestFirst) == 0 {
		return nil, notFound(key.conv)
	}
	slices.Reverse(newestFirst)
	return newestFirst, nil
}

// Append implements chat.Memory with one TransactWriteItems in the common
// case. t.Seq is the caller's guess (latest seq it read + 1; 0 or 1 for a
// new conversation). When another turn took that seq, the transaction is
// cancelled with the summary as it is now, and Append tries again with the
// next seq after a short jittered pause, up to Options.AppendAttempts times.
//
// A turn too big for one item is stored cut down (see fitTurn); the
// returned turn is t as given, with Seq and CreatedAt set.
func (s *Store) Append(ctx context.Context, t chat.Turn) (chat.Turn, error) {
	key, err := newConvKey(t.UserID, t.ConversationID)
	if err != nil {
		return chat.Turn{}, err
	}
	seq := max(t.Seq, 1)
	stored, capped, err := fitTurn(t, s.bodyBudget(key))
	if err != nil {
		return chat.Turn{}, s.fail(ctx, "Append", key, err)
	}
	for attempt := 1; ; attempt++ {
		now := s.now().UTC()
		t.Seq, t.CreatedAt = seq, now
		stored.Seq, stored.CreatedAt = seq, now
		in, err := s.appendInput(key, stored, capped, chat.Title(t.Question), now)
		if err != nil {
			return chat.Turn{}, s.fail(ctx, "Append", key, err)
		}
		_, err = s.client.TransactWriteItems(ctx, in, s.callOpts...)
		if err == nil {
			return t, nil
		}
		next, err := s.afterCancel(ctx, key, seq, err)
		if err != nil {
			return chat.Turn{}, err
		}
		if attempt >= s.appendAttempts {
			return chat.Turn{}, &chat.Error{
				Code: chat.CodeConflict, Op: "dynamo.Append",
				Message: fmt.Sprintf("conversation %q changed %d times while this turn was being saved; try again", key.conv, attempt),
				Err:     fmt.Errorf("table %s key %s: last seq tried %d", s.table, key, seq),
			}
		}
		seq = next
		if err := sleepUpTo(ctx, conflictPause(attempt)); err != nil {
			return chat.Turn{}, s.fail(ctx, "Append", key, err)
		}
	}
}

// conflictPause is how long an append waits after losing a race: a random
// time up to an exponentially growing cap (2 ms, 4 ms, ... 64 ms), so that
// appenders that collided spread out; against 50 racing appends this sends
// about a third fewer transactions than retrying at once. The cap stays
// small because the retry is only as good as the summary the failure
// returned, which ages while waiting.
func conflictPause(attempt int) time.Duration {
	return time.Millisecond << min(attempt, 6)
}

// unprocessedPause is how long Delete waits before sending unprocessed
// keys again: DynamoDB leaves them when the table is throttling, so the
// wait grows (100 ms, 200 ms, ... 1 s), as AWS advises for BatchWriteItem.
func unprocessedPause(round int) time.Duration {
	return min(50*time.Millisecond<<min(round, 5), time.Second)
}

// sleepUpTo sleeps a random time below ceiling, or until ctx is done.
func sleepUpTo(ctx context.Context, ceiling time.Duration) error {
	timer := time.NewTimer(rand.N(ceiling) + time.Millisecond)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// afterCancel decides what follows a failed append: the seq to try next,
// or the error to return.
func (s *Store) afterCancel(ctx context.Context, key convKey, seq int, err error) (int, error) {
	var cancelled *types.TransactionCanceledException
	if !errors.As(err, &cancelled) {
		return 0, s.fail(ctx, "Append", key, err)
	}
	reasons := cancelled.CancellationReasons
	code := func(i int) string {
		if i < len(reasons) && reasons[i].Code != nil {
			return *reasons[i].Code
		}
		return ""
	}
	switch {
	case isThrottledCancel(err):
		return 0, s.fail(ctx, "Append", key, err)
	case code(1) == "ConditionalCheckFailed":
		// The summary is not at seq-1: another turn took this seq, or the
		// conversation is new or expired. The reason carries the summary as
		// it is now (ALL_OLD), so no read is needed to know the next seq.
		// DynamoDB leaves Item out only when there is no summary; then a
		// read costs little, and it keeps servers that never send Item
		// (some emulators) correct.
		var item map[string]types.AttributeValue
		if len(reasons) > 1 {
			item = reasons[1].Item
		}
		if item == nil {
			got, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: keyOf(key.pk(), summarySK), ConsistentRead: aws.Bool(true)}, s.callOpts...)
			if err != nil {
				return 0, s.fail(ctx, "Append", key, err)
			}
			item = got.Item
		}
		next, err := s.nextSeq(item)
		if err != nil {
			return 0, s.fail(ctx, "Append", key, err)
		}
		return next, nil
	case code(0) == "TransactionConflict" || code(1) == "TransactionConflict":
		// Another transaction was writing the same items at that moment; the
		// next attempt sees its result.
		return seq, nil
	case code(0) == "ConditionalCheckFailed":
		// A live turn holds seq while the summary counts seq-1 turns. Turn
		// and summary are written together, so this means the table was
		// changed by something other than this store.
		return 0, s.fail(ctx, "Append", key, fmt.Errorf("turn %d exists but the summary counts %d turns: %w", seq, seq-1, err))
	}
	return 0, s.fail(ctx, "Append", key, err)
}

// nextSeq is the seq after the one the summary records, or 1 when there is
// no live summary.
func (s *Store) nextSeq(item map[string]types.AttributeValue) (int, error) {
	if item == nil {
		return 1, nil
	}
	var sum summaryItem
	if err := attributevalue.UnmarshalMap(item, &sum); err != nil {
		return 0, fmt.Errorf("decode summary: %w", err)
	}
	if !live(sum.ExpiresAt, s.now()) {
		return 1, nil
	}
	return sum.Turns + 1, nil
}

// appendInput is the transaction that stores turn t.Seq: the turn, on
// condition that no live turn has its seq, and the summary, on condition
// that it records t.Seq-1 turns (or, for seq 1, that there is no live one).
func (s *Store) appendInput(key convKey, t chat.Turn, capped bool, title string, now time.Time) (*dynamodb.TransactWriteItemsInput, error) {
	body, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("encode turn: %w", err)
	}
	expires := now.Add(s.ttl).Unix()
	item, err := attributevalue.MarshalMap(turnItem{PK: key.pk(), SK: turnSK(t.Seq), Seq: t.Seq, ExpiresAt: expires, Body: string(body), Capped: capped})
	if err != nil {
		return nil, fmt.Errorf("encode turn item: %w", err)
	}
	if n := itemSize(item); n > maxItemBytes {
		// fitTurn leaves a margin for what changes between attempts; this
		// can only fail if that margin is wrong.
		return nil, fmt.Errorf("turn %d is %d bytes after fitting, over the %d-byte item limit", t.Seq, n, maxItemBytes)
	}
	nowSec := expression.Value(now.Unix())
	gone := expression.Name(attrPK).AttributeNotExists().Or(expression.Name(TTLAttribute).LessThanEqual(nowSec))
	putCond, err := expression.NewBuilder().WithCondition(gone).Build()
	if err != nil {
		return nil, err
	}

	upd := expression.Set(expression.Name("updated_at"), expression.Value(now)).
		Set(expression.Name("turns"), expression.Value(t.Seq)).
		Set(expression.Name(attrListSK), expression.Value(listSK(now, key.conv))).
		Set(expression.Name(TTLAttribute), expression.Value(expires))
	var cond expression.ConditionBuilder
	if t.Seq == 1 {
		// A new conversation, or one whose id is reused after it expired:
		// everything is set afresh.
		upd = upd.Set(expression.Name("title"), expression.Value(title)).
			Set(expression.Name("created_at"), expression.Value(now)).
			Set(expression.Name("conversation_id"), expression.Value(key.conv)).
			Set(expression.Name(attrListPK), expression.Value(userPartition(key.user)))
		cond = gone
	} else {
		cond = expression.Name("turns").Equal(expression.Value(t.Seq - 1)).And(expression.Name(TTLAttribute).GreaterThan(nowSec))
	}
	updExpr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return nil, err
	}
	return &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{
			TableName:                 &s.table,
			Item:                      item,
			ConditionExpression:       putCond.Condition(),
			ExpressionAttributeNames:  putCond.Names(),
			ExpressionAttributeValues: putCond.Values(),
		}},
		{Update: &types.Update{
			TableName:                           &s.table,
			Key:                                 keyOf(key.pk(), summarySK),
			UpdateExpression:                    updExpr.Update(),
			ConditionExpression:                 updExpr.Condition(),
			ExpressionAttributeNames:            updExpr.Names(),
			ExpressionAttributeValues:           updExpr.Values(),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
	}}, nil
}

// bodyBudget is how many bytes of turn JSON fit in one item with key's
// keys and attributes, less a margin for what differs between attempts
// (digits of the seq and times) and for the size estimate itself.
func (s *Store) bodyBudget(key convKey) int {
	probe, _ := attributevalue.MarshalMap(turnItem{PK: key.pk(), SK: turnSK(1), Seq: 1 << 30, ExpiresAt: 1 << 40, Body: "", Capped: true})
	return maxItemBytes - itemSize(probe) - 1024
}

// List implements chat.Conversations: the user's live summaries from the
// list index, newest first. It asks for one more than limit to learn
// whether another page exists, and keeps querying past DynamoDB's 1 MB
// pages (and past expired summaries) until it has them or the index ends.
func (s *Store) List(ctx context.Context, userID string, limit int, cursor string) ([]chat.Conversation, string, error) {
	if err := checkID("user", userID); err != nil {
		return nil, "", err
	}
	start, err := decodeCursor(userID, cursor)
	if err != nil {
		return nil, "", err
	}
	if limit <= 0 {
		return nil, "", nil
	}
	now := s.now()
	kc := expression.Key(attrListPK).Equal(expression.Value(userPartition(userID)))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return nil, "", s.failUser(ctx, "List", userID, err)
	}
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 aws.String(ListIndex),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ScanIndexForward:          aws.Bool(false),
		ExclusiveStartKey:         start,
	}
	want := min(limit, 1<<20) + 1
	var out []summaryItem
	for len(out) < want {
		in.Limit = aws.Int32(int32(want - len(out)))
		page, err := s.client.Query(ctx, in, s.callOpts...)
		if err != nil {
			return nil, "", s.failUser(ctx, "List", userID, err)
		}
		for _, raw := range page.Items {
			var sum summaryItem
			if err := attributevalue.UnmarshalMap(raw, &sum); err != nil {
				return nil, "", s.failUser(ctx, "List", userID, fmt.Errorf("decode summary: %w", err))
			}
			if live(sum.ExpiresAt, now) && len(out) < want {
				out = append(out, sum)
			}
		}
		if page.LastEvaluatedKey == nil {
			break
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = encodeCursor(out[limit-1])
	}
	convs := make([]chat.Conversation, len(out))
	for i, sum := range out {
		convs[i] = sum.conversation()
	}
	return convs, next, nil
}

// cursor is the position after the last conversation of a page. It holds
// only the conversation id and its update time: the keys are rebuilt from
// the caller's own user id, so a cursor can never point into another
// user's conversations.
type cursor struct {
	Updated int64  `json:"u"`
	Conv    string `json:"c"`
}

func encodeCursor(s summaryItem) string {
	b, _ := json.Marshal(cursor{Updated: s.UpdatedAt.UnixNano(), Conv: s.ConversationID})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(userID, s string) (map[string]types.AttributeValue, error) {
	if s == "" {
		return nil, nil
	}
	bad := chat.Errorf(chat.CodeInvalid, "cursor %q is not one this server returned; pass the next_cursor of the previous page", s)
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	var c cursor
	if err := json.Unmarshal(raw, &c); err != nil || c.Updated <= 0 {
		return nil, bad
	}
	key, err := newConvKey(userID, c.Conv)
	if err != nil {
		return nil, bad
	}
	k := keyOf(key.pk(), summarySK)
	k[attrListPK] = &types.AttributeValueMemberS{Value: userPartition(userID)}
	k[attrListSK] = &types.AttributeValueMemberS{Value: listSK(time.Unix(0, c.Updated), c.Conv)}
	return k, nil
}

// Delete implements chat.Conversations. It reads the conversation's keys,
// deletes the turns in batches of 25 and the summary last, on condition
// that no turn was appended meanwhile, so that a conversation is never
// left with a turn its summary does not count. Deleting again, or deleting
// an expired conversation, is CodeNotFound.
func (s *Store) Delete(ctx context.Context, userID, conversationID string) error {
	key, err := newConvKey(userID, conversationID)
	if err != nil {
		return err
	}
	const rounds = 3
	for round := 1; ; round++ {
		turnKeys, summary, err := s.conversationKeys(ctx, key)
		if err != nil {
			return err
		}
		if summary == nil || !live(summary.ExpiresAt, s.now()) {
			return notFound(key.conv)
		}
		if err := s.batchDelete(ctx, key, turnKeys); err != nil {
			return err
		}
		cond, err := expression.NewBuilder().WithCondition(expression.Name("turns").Equal(expression.Value(summary.Turns))).Build()
		if err != nil {
			return s.fail(ctx, "Delete", key, err)
		}
		_, err = s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName:                 &s.table,
			Key:                       keyOf(key.pk(), summarySK),
			ConditionExpression:       cond.Condition(),
			ExpressionAttributeNames:  cond.Names(),
			ExpressionAttributeValues: cond.Values(),
		}, s.callOpts...)
		var changed *types.ConditionalCheckFailedException
		if errors.As(err, &changed) && round < rounds {
			continue // a turn was appended while deleting: delete it too
		}
		if err != nil {
			return s.fail(ctx, "Delete", key, err)
		}
		return nil
	}
}

// conversationKeys reads the keys of every turn and the summary.
func (s *Store) conversationKeys(ctx context.Context, key convKey) ([]map[string]types.AttributeValue, *summaryItem, error) {
	kc := expression.Key(attrPK).Equal(expression.Value(key.pk()))
	proj := expression.NamesList(expression.Name(attrPK), expression.Name(attrSK), expression.Name(TTLAttribute), expression.Name("turns"))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).WithProjection(proj).Build()
	if err != nil {
		return nil, nil, s.fail(ctx, "Delete", key, err)
	}
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    expr.KeyCondition(),
		ProjectionExpression:      expr.Projection(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ConsistentRead:            aws.Bool(true),
	}
	var turns []map[string]types.AttributeValue
	var summary *summaryItem
	for {
		page, err := s.client.Query(ctx, in, s.callOpts...)
		if err != nil {
			return nil, nil, s.fail(ctx, "Delete", key, err)
		}
		for _, it := range page.Items {
			var k struct {
				SK        string `dynamodbav:"sk"`
				ExpiresAt int64  `dynamodbav:"expires_at"`
				Turns     int    `dynamodbav:"turns"`
			}
			if err := attributevalue.UnmarshalMap(it, &k); err != nil {
				return nil, nil, s.fail(ctx, "Delete", key, fmt.Errorf("decode key: %w", err))
			}
			if k.SK == summarySK {
				summary = &summaryItem{ExpiresAt: k.ExpiresAt, Turns: k.Turns}
				continue
			}
			turns = append(turns, keyOf(key.pk(), k.SK))
		}
		if page.LastEvaluatedKey == nil {
			return turns, summary, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// batchDelete deletes keys 25 at a time (BatchWriteItem's limit), sending
// unprocessed keys again with a growing pause, a bounded number of times.
func (s *Store) batchDelete(ctx context.Context, key convKey, keys []map[string]types.AttributeValue) error {
	const unprocessedRounds = 8
	for chunk := range slices.Chunk(keys, 25) {
		reqs := make([]types.WriteRequest, len(chunk))
		for i, k := range chunk {
			reqs[i] = types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: k}}
		}
		for round := 1; len(reqs) > 0; round++ {
			out, err := s.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{s.table: reqs}}, s.callOpts...)
			if err != nil {
				return s.fail(ctx, "Delete", key, err)
			}
			reqs = out.UnprocessedItems[s.table]
			if len(reqs) == 0 {
				break
			}
			if round == unprocessedRounds {
				return &chat.Error{
					Code: chat.CodeUnavailable, Op: "dynamo.Delete", RetryAfter: 1,
					Message: fmt.Sprintf("the conversation store is busy and did not delete every turn of conversation %q; delete it again", key.conv),
					Err:     fmt.Errorf("table %s key %s: %d items unprocessed after %d rounds", s.table, key, len(reqs), round),
				}
			}
			if err := sleepUpTo(ctx, unprocessedPause(round)); err != nil {
				return s.fail(ctx, "Delete", key, err)
			}
		}
	}
	return nil
}
