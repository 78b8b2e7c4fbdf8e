package sqs_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/chat/chattest"
	"github.com/datachat/datachat/shared/sqs"
)

// client is the real SDK client on the moto server scripts/test.sh starts.
func client(t *testing.T) *awssqs.Client {
	t.Helper()
	ep := chattest.ServerEnv(t, "SQS_TEST_ENDPOINT", "scripts/start-moto.sh")
	return awssqs.New(awssqs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(ep),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
}

// newQueue creates a queue with its dead-letter queue, as template.yaml
// declares them (maxReceiveCount 3), but with a 1 s visibility timeout so
// a failed delivery comes back quickly. Names are random so tests run in
// parallel on one server.
func newQueue(t *testing.T, c *awssqs.Client, maxReceives int) (url, dlqURL string) {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "jobs-" + hex.EncodeToString(b)
	ctx := t.Context()
	dlq, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String(name + "-dlq")})
	if err != nil {
		t.Fatalf("CreateQueue dlq: %v", err)
	}
	attrs, err := c.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{QueueUrl: dlq.QueueUrl, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	q, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String(name), Attributes: map[string]string{
		"VisibilityTimeout": "1",
		"RedrivePolicy":     fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"%d"}`, attrs.Attributes["QueueArn"], maxReceives),
	}})
	if err != nil {
		t.Fatalf("CreateQueue: %v", err)
	}
	t.Cleanup(func() {
		_, _ = c.DeleteQueue(context.Background(), &awssqs.DeleteQueueInput{QueueUrl: q.QueueUrl})
		_, _ = c.DeleteQueue(context.Background(), &awssqs.DeleteQueueInput{QueueUrl: dlq.QueueUrl})
	})
	return aws.ToString(q.QueueUrl), aws.ToString(dlq.QueueUrl)
}

func TestQueueContract(t *testing.T) {
	c := client(t)
	chattest.QueueContract(t, 3, func(t *testing.T, handle chat.JobHandler) chattest.QueueUnderTest {
		url, dlqURL := newQueue(t, c, 3)
		q, err := sqs.New(c, url)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- q.Poll(ctx, handle, sqs.PollOptions{Wait: time.Second, Batch: 10}) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("Poll ended with %v, want context.Canceled", err)
			}
		})
		var mu sync.Mutex
		var dead []chat.Job
		return chattest.QueueUnderTest{Queue: q, Dead: func(t *testing.T) []chat.Job {
			out, err := c.ReceiveMessage(t.Context(), &awssqs.ReceiveMessageInput{QueueUrl: aws.String(dlqURL), MaxNumberOfMessages: 10, VisibilityTimeout: 300})
			if err != nil {
				t.Fatalf("ReceiveMessage dlq: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, m := range out.Messages {
				j, err := sqs.DecodeJob(aws.ToString(m.Body))
				if err != nil {
					t.Fatal(err)
				}
				dead = append(dead, j)
			}
			return append([]chat.Job(nil), dead...)
		}}
	})
}

func TestEnqueueToAMissingQueueIsUnavailable(t *testing.T) {
	c := client(t)
	url, _ := newQueue(t, c, 3)
	q, err := sqs.New(c, url+"-gone")
	if err != nil {
		t.Fatal(err)
	}
	err = q.Enqueue(t.Context(), chat.Job{UserID: "u", JobID: "j"})
	if chat.ErrorCode(err) != chat.CodeUnavailable {
		t.Fatalf("got %v, want unavailable", err)
	}
	if msg := chat.ErrorMessage(err); msg != "the job queue is unavailable; try again shortly" {
		t.Fatalf("message %q leaks internals or says nothing useful", msg)
	}
}

func TestDecodeJob(t *testing.T) {
	if j, err := sqs.DecodeJob(`{"user_id":"u","job_id":"j"}`); err != nil || j != (chat.Job{UserID: "u", JobID: "j"}) {
		t.Fatalf("got %v, %v", j, err)
	}
	for _, body := range []string{``, `{}`, `{"user_id":"u"}`, `{"user_id":"u","job_id":"j","question":"x"}`, `not json`} {
		if _, err := sqs.DecodeJob(body); chat.ErrorCode(err) != chat.CodeInvalid {
			t.Errorf("DecodeJob(%q) = %v, want invalid", body, err)
		}
	}
}
