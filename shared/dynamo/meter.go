package dynamo

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/datachat/datachat/shared/chat"
)

// The per-user counters live in the user's own partition too:
//
//	item            pk                 sk                        attributes
//	turns a minute  USER#<user>#LIMITS  MIN#2006-01-02T15:04      turns, expires_at
//	tokens a day    USER#<user>#LIMITS  DAY#2006-01-02            tokens, expires_at
//
// A window's item expires an hour after the window ends.
const (
	attrTurns  = "turns"
	attrTokens = "tokens"
	// counterGrace keeps a counter past its window, so a turn that started
	// just before midnight still settles on the day it was reserved on.
	counterGrace = time.Hour
)

var _ chat.Meter = (*Store)(nil)

func limitsPartition(user string) string { return userPartition(user) + "#LIMITS" }

// counterUpdate adds inc to attr of one counter item if its value is
// still under limit (or absent): the check and the add are one atomic step.
func (s *Store) counterUpdate(user, sk, attr string, inc, limit int, reset time.Time) *types.Update {
	u := &types.Update{
		TableName:        aws.String(s.table),
		Key:              keyOf(limitsPartition(user), sk),
		UpdateExpression: aws.String("ADD #n :inc SET #exp = :exp"),
		ExpressionAttributeNames: map[string]string{
			"#n": attr, "#exp": TTLAttribute,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":inc": number(inc),
			":exp": number(int(reset.Add(counterGrace).Unix())),
		},
	}
	if limit > 0 {
		u.ConditionExpression = aws.String("attribute_not_exists(#n) OR #n < :limit")
		u.ExpressionAttributeValues[":limit"] = number(limit)
	}
	return u
}

func number(n int) types.AttributeValue { return &types.AttributeValueMemberN{Value: strconv.Itoa(n)} }

// Reserve implements chat.Meter with one write: an UpdateItem when one
// limit is set, a TransactWriteItems of both counters when both are, so a
// turn refused by one limit is not counted by the other.
func (s *Store) Reserve(ctx context.Context, userID string, now time.Time, l chat.UserLimits, tokens int) (chat.Reservation, error) {
	if err := checkID("user", userID); err != nil {
		return chat.Reservation{}, err
	}
	r := chat.Reservation{UserID: userID}
	if !l.On() {
		return r, nil
	}
	type counter struct {
		update  *types.Update
		refused *chat.Error
	}
	var counters []counter
	if l.TurnsPerMinute > 0 {
		minute, reset := chat.MinuteWindow(now)
		counters = append(counters, counter{s.counterUpdate(userID, "MIN#"+minute, attrTurns, 1, l.TurnsPerMinute, reset), chat.RateLimited(l, now)})
	}
	if l.DailyTokens > 0 {
		day, reset := chat.DayWindow(now)
		counters = append(counters, counter{s.counterUpdate(userID, "DAY#"+day, attrTokens, tokens, l.DailyTokens, reset), chat.BudgetExhausted(l, now)})
		r.Day, r.Tokens = day, tokens
	}

	if len(counters) == 1 {
		u := counters[0].update
		_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: u.TableName, Key: u.Key, UpdateExpression: u.UpdateExpression, ConditionExpression: u.ConditionExpression,
			ExpressionAttributeNames: u.ExpressionAttributeNames, ExpressionAttributeValues: u.ExpressionAttributeValues,
		}, s.callOpts...)
		var failed *types.ConditionalCheckFailedException
		switch {
		case errors.As(err, &failed):
			return chat.Reservation{}, counters[0].refused
		case err != nil:
			return chat.Reservation{}, s.failLimits(ctx, "Reserve", userID, err)
		}
		return r, nil
	}

	items := make([]types.TransactWriteItem, len(counters))
	for i, c := range counters {
		items[i] = types.TransactWriteItem{Update: c.update}
	}
	_, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items}, s.callOpts...)
	var cancelled *types.TransactionCanceledException
	if errors.As(err, &cancelled) {
		for i, reason := range cancelled.CancellationReasons {
			if i < len(counters) && aws.ToString(reason.Code) == "ConditionalCheckFailed" {
				return chat.Reservation{}, counters[i].refused
			}
		}
	}
	if err != nil {
		return chat.Reservation{}, s.failLimits(ctx, "Reserve", userID, err)
	}
	return r, nil
}

// Settle implements chat.Meter: one unconditional UpdateItem adding the
// difference between what the turn used and what it reserved (nothing at
// all when no daily limit was reserved against).
func (s *Store) Settle(ctx context.Context, r chat.Reservation, used int) error {
	if r.Day == "" || used == r.Tokens {
		return nil
	}
	day, err := time.Parse("2006-01-02", r.Day)
	if err != nil {
		return &chat.Error{Code: chat.CodeInternal, Op: "dynamo.Settle", Err: err}
	}
	u := s.counterUpdate(r.UserID, "DAY#"+r.Day, attrTokens, used-r.Tokens, 0, day.Add(24*time.Hour))
	if _, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: u.TableName, Key: u.Key, UpdateExpression: u.UpdateExpression,
		ExpressionAttributeNames: u.ExpressionAttributeNames, ExpressionAttributeValues: u.ExpressionAttributeValues,
	}, s.callOpts...); err != nil {
		return s.failLimits(ctx, "Settle", r.UserID, err)
	}
	return nil
}

// Used returns the tokens counted against userID's day of now, read
// consistently; for tests and reports.
func (s *Store) Used(ctx context.Context, userID string, now time.Time) (int, error) {
	day, _ := chat.DayWindow(now)
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: keyOf(limitsPartition(userID), "DAY#"+day), ConsistentRead: aws.Bool(true),
	}, s.callOpts...)
	if err != nil {
		return 0, s.failLimits(ctx, "Used", userID, err)
	}
	v, ok := out.Item[attrTokens].(*types.AttributeValueMemberN)
	if !ok {
		return 0, nil
	}
	return strconv.Atoi(v.Value)
}

func (s *Store) failLimits(ctx context.Context, op, userID string, err error) error {
	return s.translate(ctx, op, "the user's usage counters", "key "+limitsPartition(userID), err)
}
