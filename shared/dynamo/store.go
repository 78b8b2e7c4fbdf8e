// Package dynamo stores conversations in one DynamoDB table: chat.Memory
// and chat.Conversations on aws-sdk-go-v2.
//
// Each turn is its own item, so no conversation ever meets the 400 KB item
// limit; a summary item per conversation carries the title, the times and
// the turn count, and a sparse index over the summaries lists a user's
// conversations by recency. See keys.go for the layout.
//
// A chat turn costs two reads in parallel and two writes: History is one
// Query with one GetItem of the summary beside it, and Append is one
// UpdateItem that takes the next seq from the summary's counter and one
// PutItem of the turn. The writes stay two however many turns race on one
// conversation (see Append).
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
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
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
	// Inc is the incarnation of the conversation the turn belongs to
	// (empty for turns stored before incarnations existed).
	Inc string `dynamodbav:"inc,omitempty"`
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
	// Turns is the last seq handed out, Lost how many of those seqs hold
	// no turn because their put failed; Inc the incarnation (see Append).
	Turns     int    `dynamodbav:"turns"`
	Lost      int    `dynamodbav:"lost"`
	Inc       string `dynamodbav:"inc"`
	ExpiresAt int64  `dynamodbav:"expires_at"`
}

func (s summaryItem) conversation() chat.Conversation {
	return chat.Conversation{ID: s.ConversationID, Title: s.Title, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt, Turns: s.Turns - s.Lost}
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

// TurnPage implements chat.Conversations with a forward Query from the
// turn after after, skipping expired turns, until limit live ones or the
// end of the conversation, and a read of the summary beside it (in
// parallel, so no longer to wait for): only turns of the summary's
// incarnation are the conversation's.
func (s *Store) TurnPage(ctx context.Context, userID, conversationID string, after, limit int) ([]chat.Turn, error) {
	key, err := newConvKey(userID, conversationID)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || after < 0 {
		return nil, chat.Errorf(chat.CodeInvalid, "a page needs a positive limit and a seq of 0 or more")
	}
	summary := s.readSummary(ctx, "TurnPage", key)
	now := s.now()
	kc := expression.Key(attrPK).Equal(expression.Value(key.pk())).
		And(expression.Key(attrSK).Between(expression.Value(turnSK(after+1)), expression.Value(turnSK(1<<31))))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return nil, s.fail(ctx, "TurnPage", key, err)
	}
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ScanIndexForward:          aws.Bool(true),
		ConsistentRead:            aws.Bool(true),
	}
	var items []turnItem
	for len(items) < limit {
		in.Limit = aws.Int32(int32(min(limit-len(items), 1<<20)))
		page, err := s.client.Query(ctx, in, s.callOpts...)
		if err != nil {
			return nil, s.fail(ctx, "TurnPage", key, err)
		}
		for _, raw := range page.Items {
			var it turnItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return nil, s.fail(ctx, "TurnPage", key, fmt.Errorf("decode turn: %w", err))
			}
			if live(it.ExpiresAt, now) {
				items = append(items, it)
			}
		}
		if page.LastEvaluatedKey == nil {
			break
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
	sum, err := summary()
	if err != nil {
		return nil, err
	}
	var out []chat.Turn
	for _, it := range items {
		if sum == nil || !sum.owns(it) {
			continue
		}
		t, err := it.turn(key)
		if err != nil {
			return nil, s.fail(ctx, "TurnPage", key, err)
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, notFound(key.conv)
	}
	return out, nil
}

// readSummary starts a consistent read of the conversation's summary and
// returns a function that waits for it: nil when there is no live one.
func (s *Store) readSummary(ctx context.Context, op string, key convKey) func() (*summaryItem, error) {
	type result struct {
		sum *summaryItem
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: keyOf(key.pk(), summarySK), ConsistentRead: aws.Bool(true)}, s.callOpts...)
		if err != nil {
			done <- result{err: s.fail(ctx, op, key, err)}
			return
		}
		if out.Item == nil {
			done <- result{}
			return
		}
		var sum summaryItem
		if err := attributevalue.UnmarshalMap(out.Item, &sum); err != nil {
			done <- result{err: s.fail(ctx, op, key, fmt.Errorf("decode summary: %w", err))}
			return
		}
		if !live(sum.ExpiresAt, s.now()) {
			done <- result{}
			return
		}
		done <- result{sum: &sum}
	}()
	return func() (*summaryItem, error) {
		r := <-done
		return r.sum, r.err
	}
}

// owns reports whether the turn item belongs to this summary's
// conversation rather than to an earlier one with the same id (expired,
// or deleted while an append raced the delete). Turns and summaries
// written before incarnations existed carry none and belong.
func (sum *summaryItem) owns(it turnItem) bool {
	return it.Inc == "" || sum.Inc == "" || it.Inc == sum.Inc
}

// turn decodes the stored turn.
func (it turnItem) turn(key convKey) (chat.Turn, error) {
	var t chat.Turn
	if err := json.Unmarshal([]byte(it.Body), &t); err != nil {
		return chat.Turn{}, fmt.Errorf("decode turn %d body: %w", it.Seq, err)
	}
	t.UserID, t.ConversationID, t.Seq = key.user, key.conv, it.Seq
	return t, nil
}

// turns returns the latest limit live turns of the conversation (all
// when limit is 0), oldest first, reading the summary beside them as
// TurnPage does.
func (s *Store) turns(ctx context.Context, op string, key convKey, limit int) ([]chat.Turn, error) {
	summary := s.readSummary(ctx, op, key)
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
	var sum *summaryItem
	for {
		page, err := s.client.Query(ctx, in, s.callOpts...)
		if err != nil {
			return nil, s.fail(ctx, op, key, err)
		}
		if sum == nil {
			if sum, err = summary(); err != nil {
				return nil, err
			}
			if sum == nil {
				return nil, notFound(key.conv)
			}
		}
		for _, raw := range page.Items {
			var it turnItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return nil, s.fail(ctx, op, key, fmt.Errorf("decode turn: %w", err))
			}
			if !sum.owns(it) {
				continue // of an earlier conversation with this id
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
			t, err := it.turn(key)
			if err != nil {
				return nil, s.fail(ctx, op, key, err)
			}
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

// Delete implements chat.Conversations. It deletes the summary first, on
// condition that it is live, so the conversation is gone for every reader
// and every later append at once (readers need the summary, follow-ups
// take their seq from it); then it deletes the turns, 25 at a time. A turn
// whose append took its seq just before the delete and lands after the
// sweep belongs to an incarnation no summary names: no reader returns it,
// and it expires with its TTL, as do turns a failed sweep leaves (deleting
// again sweeps them). Deleting again, or deleting an expired conversation,
// is CodeNotFound.
func (s *Store) Delete(ctx context.Context, userID, conversationID string) error {
	key, err := newConvKey(userID, conversationID)
	if err != nil {
		return err
	}
	cond, err := expression.NewBuilder().WithCondition(expression.Name(TTLAttribute).GreaterThan(expression.Value(s.now().Unix()))).Build()
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
	missing := isConditionFailed(err)
	if err != nil && !missing {
		return s.fail(ctx, "Delete", key, err)
	}
	turnKeys, err := s.conversationKeys(ctx, key)
	if err != nil {
		return err
	}
	// With no live summary the conversation is already gone (not found);
	// turns left by a sweep that failed, a raced append or expiry are
	// swept all the same.
	if err := s.batchDelete(ctx, key, turnKeys); err != nil {
		return err
	}
	if missing {
		return notFound(key.conv)
	}
	return nil
}

// conversationKeys reads the keys of every turn item under the
// conversation's partition.
func (s *Store) conversationKeys(ctx context.Context, key convKey) ([]map[string]types.AttributeValue, error) {
	kc := expression.Key(attrPK).Equal(expression.Value(key.pk())).And(expression.Key(attrSK).BeginsWith(turnPrefix))
	proj := expression.NamesList(expression.Name(attrPK), expression.Name(attrSK))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).WithProjection(proj).Build()
	if err != nil {
		return nil, s.fail(ctx, "Delete", key, err)
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
	for {
		page, err := s.client.Query(ctx, in, s.callOpts...)
		if err != nil {
			return nil, s.fail(ctx, "Delete", key, err)
		}
		for _, it := range page.Items {
			var k struct {
				SK string `dynamodbav:"sk"`
			}
			if err := attributevalue.UnmarshalMap(it, &k); err != nil {
				return nil, s.fail(ctx, "Delete", key, fmt.Errorf("decode key: %w", err))
			}
			turns = append(turns, keyOf(key.pk(), k.SK))
		}
		if page.LastEvaluatedKey == nil {
			return turns, nil
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
