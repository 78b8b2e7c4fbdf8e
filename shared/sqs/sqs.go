// Package sqs is chat.Queue on Amazon SQS with aws-sdk-go-v2.
//
// A message carries only a chat.Job (the user and the job id); the job's
// request, progress and result live in the job record, so nothing a user
// asked ever sits in a queue. In AWS the worker function receives the
// messages from Lambda's event source mapping (see functions/worker);
// Poll does the same outside Lambda, for a worker process and the tests.
package sqs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/datachat/datachat/shared/chat"
)

// Client is the part of the SQS API the queue calls. *sqs.Client
// implements it.
type Client interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
}

// Queue sends jobs to one SQS queue. It holds only the client and the
// queue's URL and is safe for concurrent use.
type Queue struct {
	client Client
	url    string
}

var _ chat.Queue = (*Queue)(nil)

// New returns the queue at url (QUEUE_URL in the deployed functions).
func New(client Client, url string) (*Queue, error) {
	if client == nil || url == "" {
		return nil, errors.New("sqs.New: a client and the queue's URL are required")
	}
	return &Queue{client: client, url: url}, nil
}

// Enqueue implements chat.Queue with one SendMessage.
func (q *Queue) Enqueue(ctx context.Context, job chat.Job) error {
	body, err := json.Marshal(job)
	if err != nil {
		return &chat.Error{Code: chat.CodeInternal, Op: "sqs.Enqueue", Err: err}
	}
	if _, err := q.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.url), MessageBody: aws.String(string(body))}); err != nil {
		return q.fail(ctx, "SendMessage", job, err)
	}
	return nil
}

// DecodeJob reads the job a message body carries. A body that is not one
// is CodeInvalid: retrying cannot help, so the worker drops it (and says so).
func DecodeJob(body string) (chat.Job, error) {
	var j chat.Job
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil || j.UserID == "" || j.JobID == "" {
		return chat.Job{}, &chat.Error{Code: chat.CodeInvalid, Op: "sqs.DecodeJob", Message: "the message is not a datachat job", Err: fmt.Errorf("body %.80q: %v", body, err)}
	}
	return j, nil
}

// PollOptions configure Poll.
type PollOptions struct {
	// Wait is the long-poll time of each ReceiveMessage (at most 20 s).
	// Default 1 s, so Poll notices ctx ending soon.
	Wait time.Duration
	// Batch is the most messages one receive returns (1-10). Default 1, as
	// the worker function's batch size.
	Batch int
}

// Poll receives messages until ctx is done and runs handle on each, as
// Lambda's event source mapping does for the worker function: a message
// whose handler returns nil is deleted; one whose handler fails stays, to
// be received again when its visibility timeout ends, and the queue's
// redrive policy moves it to the dead-letter queue after maxReceiveCount
// receives. A message that is not a job is deleted at once. It returns
// ctx's error, or the first error of ReceiveMessage.
func (q *Queue) Poll(ctx context.Context, handle chat.JobHandler, o PollOptions) error {
	if o.Wait <= 0 {
		o.Wait = time.Second
	}
	if o.Batch <= 0 {
		o.Batch = 1
	}
	for ctx.Err() == nil {
		out, err := q.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(q.url),
			MaxNumberOfMessages:         int32(o.Batch),
			WaitTimeSeconds:             int32(o.Wait / time.Second),
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
		})
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return q.fail(ctx, "ReceiveMessage", chat.Job{}, err)
		}
		for _, m := range out.Messages {
			attempt, _ := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
			job, err := DecodeJob(aws.ToString(m.Body))
			if err == nil {
				err = handle(ctx, job, max(attempt, 1))
			} else {
				err = nil // not ours to retry
			}
			if err != nil {
				continue
			}
			if _, err := q.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q.url), ReceiptHandle: m.ReceiptHandle}); err != nil && ctx.Err() == nil {
				return q.fail(ctx, "DeleteMessage", job, err)
			}
		}
	}
	return ctx.Err()
}

// fail translates an SDK error into a *chat.Error: every failure to reach
// the queue is CodeUnavailable for the caller, with the queue's URL only in
// the logged error.
func (q *Queue) fail(ctx context.Context, op string, job chat.Job, err error) error {
	e := &chat.Error{Code: chat.CodeUnavailable, Op: "sqs." + op, RetryAfter: 2,
		Message: "the job queue is unavailable; try again shortly",
		Err:     fmt.Errorf("queue %s job %q: %w", q.url, job.JobID, err)}
	if ctx.Err() != nil {
		e.Code, e.Message, e.RetryAfter = chat.CodeDeadline, "the request ran out of time while queueing the job", 0
	}
	return e
}
