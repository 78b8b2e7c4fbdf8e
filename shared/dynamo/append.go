package dynamo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/datachat/datachat/shared/chat"
)

// Append implements chat.Memory in two writes however many turns race on
// the conversation: one UpdateItem takes the next seq from the summary's
// counter (DynamoDB applies updates of one item one after another, so
// racers never fail each other), then one PutItem stores the turn at that
// seq. A conditional version check in a transaction, as before, cost about
// k transactions for the k-th of k racers.
//
// The seq is the conversation's; the summary's incarnation (a random id
// set when the conversation is created) goes into the turn, so a turn
// written by an append that raced a Delete, or left from an earlier
// conversation with the same id, is never read as part of this one.
//
// A turn too big for one item is stored cut down (see fitTurn); the
// returned turn is the one stored. A follow-up (t.Seq above 1) whose
// conversation no longer exists is CodeNotFound (chat.Gone). When the put
// fails after the seq was taken, the seq is counted as lost, so the
// summary's turn count stays the number of turns stored and readers see a
// gap they can explain: a seq is never reused, and a missing one is a turn
// that was not saved.
func (s *Store) Append(ctx context.Context, t chat.Turn) (chat.Turn, error) {
	key, err := newConvKey(t.UserID, t.ConversationID)
	if err != nil {
		return chat.Turn{}, err
	}
	stored, capped, err := fitTurn(t, s.bodyBudget(key))
	if err != nil {
		return chat.Turn{}, s.fail(ctx, "Append", key, err)
	}
	now := s.now().UTC()
	seq, inc, err := s.takeSeq(ctx, key, t.Seq > 1, chat.Title(t.Question), now)
	if err != nil {
		return chat.Turn{}, err
	}
	stored.Seq, stored.CreatedAt = seq, now
	if err := s.putTurn(ctx, key, stored, capped, inc, now); err != nil {
		s.markLost(ctx, key, inc)
		return chat.Turn{}, err
	}
	return stored, nil
}

// takeSeq reserves the next seq of the conversation and returns it with
// the conversation's incarnation. A follow-up needs a live summary; any
// other append creates the conversation when it has none (or only an
// expired one) and is a follow-up otherwise, which two appends creating
// one id at once need. At most three updates, one in the common case.
func (s *Store) takeSeq(ctx context.Context, key convKey, followUp bool, title string, now time.Time) (int, string, error) {
	for attempt := 0; attempt < 3; attempt++ {
		if !followUp {
			seq, inc, err := s.createSummary(ctx, key, title, now)
			if !isConditionFailed(err) {
				return seq, inc, err
			}
		}
		seq, inc, err := s.bumpSummary(ctx, key, now)
		if !isConditionFailed(err) {
			return seq, inc, err
		}
		if followUp {
			// No live summary: the conversation was deleted (or expired)
			// after the follow-up read it; storing turn 1 would bring it back.
			return 0, "", chat.Gone(key.conv)
		}
		// The summary expired between the two updates: create it again.
	}
	return 0, "", &chat.Error{Code: chat.CodeConflict, Op: "dynamo.Append",
		Message: fmt.Sprintf("conversation %q was created and expired while this turn was being saved; try again", key.conv),
		Err:     fmt.Errorf("table %s key %s: no seq after 3 attempts", s.table, key)}
}

// createSummary makes the summary of a new conversation (or of an expired
// one whose id is used again), holding seq 1.
func (s *Store) createSummary(ctx context.Context, key convKey, title string, now time.Time) (int, string, error) {
	inc, err := newIncarnation()
	if err != nil {
		return 0, "", s.fail(ctx, "Append", key, err)
	}
	upd := s.touch(key, now).
		Set(expression.Name(attrTurns), expression.Value(1)).
		Set(expression.Name(attrLost), expression.Value(0)).
		Set(expression.Name(attrInc), expression.Value(inc)).
		Set(expression.Name("title"), expression.Value(title)).
		Set(expression.Name("created_at"), expression.Value(now)).
		Set(expression.Name("conversation_id"), expression.Value(key.conv)).
		Set(expression.Name(attrListPK), expression.Value(userPartition(key.user)))
	return s.updateSummary(ctx, key, upd, gone(now))
}

// bumpSummary takes the next seq of a live conversation.
func (s *Store) bumpSummary(ctx context.Context, key convKey, now time.Time) (int, string, error) {
	upd := s.touch(key, now).Add(expression.Name(attrTurns), expression.Value(1))
	return s.updateSummary(ctx, key, upd, expression.Name(TTLAttribute).GreaterThan(expression.Value(now.Unix())))
}

// touch is what every append changes in the summary: the update time
// (which orders the list) and the expiry.
func (s *Store) touch(key convKey, now time.Time) expression.UpdateBuilder {
	return expression.Set(expression.Name("updated_at"), expression.Value(now)).
		Set(expression.Name(attrListSK), expression.Value(listSK(now, key.conv))).
		Set(expression.Name(TTLAttribute), expression.Value(now.Add(s.ttl).Unix()))
}

func (s *Store) updateSummary(ctx context.Context, key convKey, upd expression.UpdateBuilder, cond expression.ConditionBuilder) (int, string, error) {
	expr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return 0, "", s.fail(ctx, "Append", key, err)
	}
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       keyOf(key.pk(), summarySK),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ReturnValues:              types.ReturnValueAllNew,
	}, s.callOpts...)
	if isConditionFailed(err) {
		return 0, "", err
	}
	if err != nil {
		return 0, "", s.fail(ctx, "Append", key, err)
	}
	var sum summaryItem
	if err := attributevalue.UnmarshalMap(out.Attributes, &sum); err != nil || sum.Turns < 1 {
		return 0, "", s.fail(ctx, "Append", key, fmt.Errorf("decode summary after update (turns %d): %v", sum.Turns, err))
	}
	return sum.Turns, sum.Inc, nil
}

// putTurn stores the turn at its reserved seq. Its condition only guards
// against a live turn of this incarnation at that seq, which the counter
// never hands out twice: items of an expired or deleted conversation with
// the same id are overwritten. A put whose outcome is unknown (the
// connection broke after sending) is settled by reading the item back.
func (s *Store) putTurn(ctx context.Context, key convKey, t chat.Turn, capped bool, inc string, now time.Time) error {
	body, err := json.Marshal(t)
	if err != nil {
		return s.fail(ctx, "Append", key, fmt.Errorf("encode turn: %w", err))
	}
	item, err := attributevalue.MarshalMap(turnItem{PK: key.pk(), SK: turnSK(t.Seq), Seq: t.Seq, ExpiresAt: now.Add(s.ttl).Unix(), Body: string(body), Capped: capped, Inc: inc})
	if err != nil {
		return s.fail(ctx, "Append", key, fmt.Errorf("encode turn item: %w", err))
	}
	if n := itemSize(item); n > maxItemBytes {
		// fitTurn leaves a margin for what changes between attempts; this
		// can only fail if that margin is wrong.
		return s.fail(ctx, "Append", key, fmt.Errorf("turn %d is %d bytes after fitting, over the %d-byte item limit", t.Seq, n, maxItemBytes))
	}
	free := gone(now).Or(expression.Name(attrInc).NotEqual(expression.Value(inc)))
	cond, err := expression.NewBuilder().WithCondition(free).Build()
	if err != nil {
		return s.fail(ctx, "Append", key, err)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 &s.table,
		Item:                      item,
		ConditionExpression:       cond.Condition(),
		ExpressionAttributeNames:  cond.Names(),
		ExpressionAttributeValues: cond.Values(),
	}, s.callOpts...)
	switch {
	case err == nil:
		return nil
	case isConditionFailed(err):
		return s.fail(ctx, "Append", key, fmt.Errorf("turn %d of incarnation %s already exists, so the summary's counter was changed by something other than this store: %w", t.Seq, inc, err))
	}
	if stored, rerr := s.turnStored(ctx, key, t.Seq, inc); rerr == nil && stored {
		return nil
	}
	return s.fail(ctx, "Append", key, err)
}

// turnStored reads whether turn seq of incarnation inc exists.
func (s *Store) turnStored(ctx context.Context, key convKey, seq int, inc string) (bool, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: keyOf(key.pk(), turnSK(seq)),
		ConsistentRead: aws.Bool(true), ProjectionExpression: aws.String(attrInc)}, s.callOpts...)
	if err != nil {
		return false, err
	}
	var it struct {
		Inc string `dynamodbav:"inc"`
	}
	if out.Item == nil || attributevalue.UnmarshalMap(out.Item, &it) != nil {
		return false, nil
	}
	return it.Inc == inc, nil
}

// markLost counts a reserved seq whose turn was not stored, so the
// summary keeps counting stored turns (on the same incarnation, or a
// summary written before incarnations existed). Best effort, on a context of its
// own: the caller's may be what ran out. When it fails too, the count is
// one over until the conversation expires.
func (s *Store) markLost(ctx context.Context, key convKey, inc string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	expr, err := expression.NewBuilder().
		WithUpdate(expression.Add(expression.Name(attrLost), expression.Value(1))).
		WithCondition(expression.Name(attrInc).Equal(expression.Value(inc)).Or(expression.Name(attrInc).AttributeNotExists())).Build()
	if err != nil {
		return
	}
	_, _ = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: keyOf(key.pk(), summarySK),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}, s.callOpts...)
}

// gone holds for an item that does not exist or has expired.
func gone(now time.Time) expression.ConditionBuilder {
	return expression.Name(attrPK).AttributeNotExists().Or(expression.Name(TTLAttribute).LessThanEqual(expression.Value(now.Unix())))
}

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// newIncarnation is a random id for a conversation's life under one id.
func newIncarnation() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("incarnation: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// unprocessedPause is how long Delete waits before sending unprocessed
// keys again: DynamoDB leaves them when the table is throttling, so the
// wait grows (100 ms, 200 ms, ... 1 s), as AWS advises for BatchWriteItem.
func unprocessedPause(round int) time.Duration {
	return min(50*time.Millisecond<<min(round, 5), time.Second)
}

// sleepUpTo sleeps a random time below ceiling, or until ctx is done.
func sleepUpTo(ctx context.Context, ceiling time.Duration) error {
	timer := time.NewTimer(mrand.N(ceiling) + time.Millisecond)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
