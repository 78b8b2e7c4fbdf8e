package dynamo

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/datachat/datachat/shared/chat"
)

// Jobs and idempotency records live in the user's own partitions too:
//
//	item         pk                        sk     attributes
//	job          USER#<user>#JOB#<job>     JOB    status, attempt, lease_until (ms), body, expires_at
//	idempotency  USER#<user>#IDEM#<key>    IDEM   request_hash, done, lease_until (ms), body, expires_at
//
// body is the record's JSON, gzipped: a job's events and answer repeat
// the turn's table, and compressed they fit DynamoDB's 400 KB item with
// room to spare. The attributes the conditions test sit beside it.
const (
	jobSK  = "JOB"
	idemSK = "IDEM"
	// maxBodyBytes is what a job or idempotency body may take of an item.
	maxBodyBytes = maxItemBytes - 4<<10
)

var (
	_ chat.Jobs        = (*Store)(nil)
	_ chat.Idempotency = (*Store)(nil)
)

func jobPK(user, job string) string  { return userPartition(user) + "#JOB#" + escape(job) }
func idemPK(user, key string) string { return userPartition(user) + "#IDEM#" + escape(key) }

type jobItem struct {
	PK         string    `dynamodbav:"pk"`
	SK         string    `dynamodbav:"sk"`
	Status     string    `dynamodbav:"status"`
	Attempt    int       `dynamodbav:"attempt"`
	LeaseUntil int64     `dynamodbav:"lease_until"`
	Body       []byte    `dynamodbav:"body"`
	ExpiresAt  int64     `dynamodbav:"expires_at"`
	UpdatedAt  time.Time `dynamodbav:"updated_at"`
}

func (s *Store) failJob(ctx context.Context, op, user, job string, err error) error {
	return s.translate(ctx, op, fmt.Sprintf("job %q", job), "key "+jobPK(user, job), err)
}

// CreateJob implements chat.Jobs with one conditional PutItem.
func (s *Store) CreateJob(ctx context.Context, j chat.JobRecord) error {
	if err := checkIDs(j.UserID, j.ID); err != nil {
		return err
	}
	j.Status, j.Attempt = chat.JobQueued, 0
	it, err := s.jobItem(j)
	if err != nil {
		return s.failJob(ctx, "CreateJob", j.UserID, j.ID, err)
	}
	cond := expression.Name(attrPK).AttributeNotExists()
	if err := s.putJob(ctx, it, cond); isConditionFailed(err) {
		return chat.Errorf(chat.CodeConflict, "job %q exists", j.ID)
	} else if err != nil {
		return s.failJob(ctx, "CreateJob", j.UserID, j.ID, err)
	}
	return nil
}

// Job implements chat.Jobs with one consistent GetItem.
func (s *Store) Job(ctx context.Context, userID, jobID string) (chat.JobRecord, error) {
	if err := checkIDs(userID, jobID); err != nil {
		return chat.JobRecord{}, chat.Errorf(chat.CodeNotFound, "job %q not found", jobID)
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: keyOf(jobPK(userID, jobID), jobSK), ConsistentRead: aws.Bool(true)}, s.callOpts...)
	if err != nil {
		return chat.JobRecord{}, s.failJob(ctx, "Job", userID, jobID, err)
	}
	if out.Item == nil {
		return chat.JobRecord{}, chat.Errorf(chat.CodeNotFound, "job %q not found", jobID)
	}
	var it jobItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return chat.JobRecord{}, s.failJob(ctx, "Job", userID, jobID, fmt.Errorf("decode job: %w", err))
	}
	if !live(it.ExpiresAt, s.now()) {
		return chat.JobRecord{}, chat.Errorf(chat.CodeNotFound, "job %q not found", jobID)
	}
	j, err := it.record()
	if err != nil {
		return chat.JobRecord{}, s.failJob(ctx, "Job", userID, jobID, err)
	}
	return j, nil
}

// ClaimJob implements chat.Jobs with one conditional UpdateItem: the job
// is queued, or running under a lease that has passed. The lease is in
// milliseconds and must end after now, so a claim can never leave a job
// running with no lease to run out (a runner with no time left gets
// CodeDeadline and the delivery is retried).
func (s *Store) ClaimJob(ctx context.Context, userID, jobID string, leaseUntil time.Time) (chat.JobRecord, error) {
	if err := checkIDs(userID, jobID); err != nil {
		return chat.JobRecord{}, err
	}
	now := s.now()
	if !leaseUntil.After(now) {
		return chat.JobRecord{}, chat.Errorf(chat.CodeDeadline, "no time left to run job %q", jobID)
	}
	nowMS := expression.Value(now.UnixMilli())
	claimable := expression.Name("status").Equal(expression.Value(string(chat.JobQueued))).
		Or(expression.Name("status").Equal(expression.Value(string(chat.JobRunning))).And(expression.Name("lease_until").LessThanEqual(nowMS)))
	cond := expression.Name(TTLAttribute).GreaterThan(expression.Value(now.Unix())).And(claimable)
	upd := expression.Set(expression.Name("status"), expression.Value(string(chat.JobRunning))).
		Set(expression.Name("lease_until"), expression.Value(leaseUntil.UnixMilli())).
		Set(expression.Name("updated_at"), expression.Value(now.UTC())).
		Add(expression.Name("attempt"), expression.Value(1))
	expr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return chat.JobRecord{}, s.failJob(ctx, "ClaimJob", userID, jobID, err)
	}
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: keyOf(jobPK(userID, jobID), jobSK),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		ReturnValues: "ALL_NEW",
	}, s.callOpts...)
	if isConditionFailed(err) {
		// Done, running under a live lease, or missing: the record says which.
		j, err := s.Job(ctx, userID, jobID)
		if err != nil {
			return chat.JobRecord{}, err
		}
		if j.Status.Done() {
			return j, nil
		}
		return chat.JobRecord{}, chat.Errorf(chat.CodeConflict, "job %q is running (attempt %d) until %s", jobID, j.Attempt, j.LeaseUntil.Format(time.RFC3339Nano))
	}
	if err != nil {
		return chat.JobRecord{}, s.failJob(ctx, "ClaimJob", userID, jobID, err)
	}
	var it jobItem
	if err := attributevalue.UnmarshalMap(out.Attributes, &it); err != nil {
		return chat.JobRecord{}, s.failJob(ctx, "ClaimJob", userID, jobID, fmt.Errorf("decode job: %w", err))
	}
	j, err := it.record()
	if err != nil {
		return chat.JobRecord{}, s.failJob(ctx, "ClaimJob", userID, jobID, err)
	}
	return j, nil
}

// UpdateJob implements chat.Jobs with one PutItem on condition that the
// claim is still the caller's.
func (s *Store) UpdateJob(ctx context.Context, j chat.JobRecord) error {
	if err := checkIDs(j.UserID, j.ID); err != nil {
		return err
	}
	it, err := s.jobItem(j)
	if err != nil {
		return s.failJob(ctx, "UpdateJob", j.UserID, j.ID, err)
	}
	cond := expression.Name("attempt").Equal(expression.Value(j.Attempt)).
		And(expression.Name("status").Equal(expression.Value(string(chat.JobRunning))))
	if err := s.putJob(ctx, it, cond); isConditionFailed(err) {
		return chat.Errorf(chat.CodeConflict, "job %q was taken over by another attempt than %d", j.ID, j.Attempt)
	} else if err != nil {
		return s.failJob(ctx, "UpdateJob", j.UserID, j.ID, err)
	}
	return nil
}

// jobItem encodes j. A job whose events and answer do not fit one item
// even compressed keeps its answer and drops its events: the answer is
// what the client polls for.
func (s *Store) jobItem(j chat.JobRecord) (jobItem, error) {
	now := s.now().UTC()
	j.UpdatedAt = now
	body, err := gzipJSON(j)
	if err == nil && len(body) > maxBodyBytes {
		j.Events = nil
		body, err = gzipJSON(j)
	}
	if err != nil {
		return jobItem{}, err
	}
	if len(body) > maxBodyBytes {
		return jobItem{}, fmt.Errorf("job %s is %d bytes compressed without its events, over %d", j.ID, len(body), maxBodyBytes)
	}
	return jobItem{
		PK: jobPK(j.UserID, j.ID), SK: jobSK, Status: string(j.Status), Attempt: j.Attempt,
		LeaseUntil: j.LeaseUntil.UnixMilli(), Body: body, ExpiresAt: now.Add(s.ttl).Unix(), UpdatedAt: now,
	}, nil
}

func (s *Store) putJob(ctx context.Context, it jobItem, cond expression.ConditionBuilder) error {
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return fmt.Errorf("encode job item: %w", err)
	}
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return err
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: item,
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}, s.callOpts...)
	return err
}

// record decodes the job; the attributes the conditions change (status,
// attempt, lease) win over the body's copy.
func (it jobItem) record() (chat.JobRecord, error) {
	var j chat.JobRecord
	if err := gunzipJSON(it.Body, &j); err != nil {
		return chat.JobRecord{}, fmt.Errorf("decode job body: %w", err)
	}
	j.Status, j.Attempt, j.LeaseUntil = chat.JobStatus(it.Status), it.Attempt, time.UnixMilli(it.LeaseUntil).UTC()
	return j, nil
}

type idemItem struct {
	PK          string `dynamodbav:"pk"`
	SK          string `dynamodbav:"sk"`
	RequestHash string `dynamodbav:"request_hash"`
	Token       string `dynamodbav:"token"`
	Done        bool   `dynamodbav:"done"`
	LeaseUntil  int64  `dynamodbav:"lease_until"`
	Status      int    `dynamodbav:"status"`
	Body        []byte `dynamodbav:"body,omitempty"`
	ExpiresAt   int64  `dynamodbav:"expires_at"`
}

func (s *Store) failKey(ctx context.Context, op, user, key string, err error) error {
	return s.translate(ctx, op, "the idempotency key", "key "+idemPK(user, key), err)
}

// BeginIdempotent implements chat.Idempotency with one conditional
// PutItem, and a read when the key is held. Only one of any number of
// concurrent requests with one key begins.
func (s *Store) BeginIdempotent(ctx context.Context, r chat.IdempotencyRecord) (chat.IdempotencyRecord, bool, error) {
	if err := checkIDs(r.UserID, r.Key); err != nil {
		return chat.IdempotencyRecord{}, false, err
	}
	for range 3 {
		now := s.now()
		it := idemItem{PK: idemPK(r.UserID, r.Key), SK: idemSK, RequestHash: r.RequestHash, Token: r.Token, LeaseUntil: r.LeaseUntil.UnixMilli(), ExpiresAt: r.LeaseUntil.Add(time.Minute).Unix()}
		item, err := attributevalue.MarshalMap(it)
		if err != nil {
			return chat.IdempotencyRecord{}, false, s.failKey(ctx, "BeginIdempotent", r.UserID, r.Key, err)
		}
		free := expression.Name(attrPK).AttributeNotExists().Or(expression.Name("lease_until").LessThanEqual(expression.Value(now.UnixMilli())))
		expr, err := expression.NewBuilder().WithCondition(free).Build()
		if err != nil {
			return chat.IdempotencyRecord{}, false, s.failKey(ctx, "BeginIdempotent", r.UserID, r.Key, err)
		}
		_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: &s.table, Item: item,
			ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		}, s.callOpts...)
		if err == nil {
			return chat.IdempotencyRecord{}, true, nil
		}
		if !isConditionFailed(err) {
			return chat.IdempotencyRecord{}, false, s.failKey(ctx, "BeginIdempotent", r.UserID, r.Key, err)
		}
		held, found, err := s.idempotencyRecord(ctx, r.UserID, r.Key)
		if err != nil {
			return chat.IdempotencyRecord{}, false, err
		}
		if found {
			return held, false, nil
		}
		// Released between the put and the read: try again.
	}
	return chat.IdempotencyRecord{}, false, &chat.Error{Code: chat.CodeConflict, Op: "dynamo.BeginIdempotent", RetryAfter: 1,
		Message: fmt.Sprintf("idempotency key %q is being taken and released by other requests; try again", r.Key)}
}

func (s *Store) idempotencyRecord(ctx context.Context, user, key string) (chat.IdempotencyRecord, bool, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: keyOf(idemPK(user, key), idemSK), ConsistentRead: aws.Bool(true)}, s.callOpts...)
	if err != nil {
		return chat.IdempotencyRecord{}, false, s.failKey(ctx, "BeginIdempotent", user, key, err)
	}
	if out.Item == nil {
		return chat.IdempotencyRecord{}, false, nil
	}
	var it idemItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return chat.IdempotencyRecord{}, false, s.failKey(ctx, "BeginIdempotent", user, key, fmt.Errorf("decode: %w", err))
	}
	r := chat.IdempotencyRecord{UserID: user, Key: key, RequestHash: it.RequestHash, Token: it.Token, Done: it.Done, LeaseUntil: time.UnixMilli(it.LeaseUntil).UTC(), Status: it.Status}
	if len(it.Body) > 0 {
		body, err := gunzip(it.Body)
		if err != nil {
			return chat.IdempotencyRecord{}, false, s.failKey(ctx, "BeginIdempotent", user, key, fmt.Errorf("decode body: %w", err))
		}
		r.Body = body
	}
	return r, true, nil
}

// CompleteIdempotent implements chat.Idempotency with one PutItem; the
// answer is kept chat.IdempotencyTTL.
func (s *Store) CompleteIdempotent(ctx context.Context, r chat.IdempotencyRecord) error {
	if err := checkIDs(r.UserID, r.Key); err != nil {
		return err
	}
	// The answer's own bytes, so a replay is identical.
	body, err := gzipBytes(r.Body)
	if err != nil {
		return s.failKey(ctx, "CompleteIdempotent", r.UserID, r.Key, err)
	}
	if len(body) > maxBodyBytes {
		return s.failKey(ctx, "CompleteIdempotent", r.UserID, r.Key, fmt.Errorf("answer is %d bytes compressed, over %d", len(body), maxBodyBytes))
	}
	until := s.now().Add(chat.IdempotencyTTL)
	item, err := attributevalue.MarshalMap(idemItem{PK: idemPK(r.UserID, r.Key), SK: idemSK, RequestHash: r.RequestHash, Token: r.Token, Done: true,
		LeaseUntil: until.UnixMilli(), Status: r.Status, Body: body, ExpiresAt: until.Unix()})
	if err != nil {
		return s.failKey(ctx, "CompleteIdempotent", r.UserID, r.Key, err)
	}
	mine, err := expression.NewBuilder().WithCondition(expression.Name("token").Equal(expression.Value(r.Token))).Build()
	if err != nil {
		return s.failKey(ctx, "CompleteIdempotent", r.UserID, r.Key, err)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item,
		ConditionExpression: mine.Condition(), ExpressionAttributeNames: mine.Names(), ExpressionAttributeValues: mine.Values()}, s.callOpts...)
	if isConditionFailed(err) {
		return chat.Errorf(chat.CodeConflict, "idempotency key %q is held by another request now", r.Key)
	}
	if err != nil {
		return s.failKey(ctx, "CompleteIdempotent", r.UserID, r.Key, err)
	}
	return nil
}

// ReleaseIdempotent implements chat.Idempotency with one DeleteItem.
func (s *Store) ReleaseIdempotent(ctx context.Context, userID, key, token string) error {
	if err := checkIDs(userID, key); err != nil {
		return err
	}
	mine, err := expression.NewBuilder().WithCondition(expression.Name("token").Equal(expression.Value(token))).Build()
	if err != nil {
		return s.failKey(ctx, "ReleaseIdempotent", userID, key, err)
	}
	_, err = s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: keyOf(idemPK(userID, key), idemSK),
		ConditionExpression: mine.Condition(), ExpressionAttributeNames: mine.Names(), ExpressionAttributeValues: mine.Values()}, s.callOpts...)
	if err != nil && !isConditionFailed(err) {
		return s.failKey(ctx, "ReleaseIdempotent", userID, key, err)
	}
	return nil
}

func checkIDs(user, id string) error {
	if err := checkID("user", user); err != nil {
		return err
	}
	return checkID("record", id)
}

func gzipJSON(v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return gzipBytes(data)
}

func gzipBytes(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		return nil, fmt.Errorf("compress: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compress: %w", err)
	}
	return buf.Bytes(), nil
}

func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

func gunzipJSON(b []byte, v any) error {
	data, err := gunzip(b)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}
