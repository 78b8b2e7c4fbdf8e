package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/datachat/datachat/shared/chat/chattest"
)

// TestQueuedTurnUnderTheLambdaRuntimeEmulator runs a queued turn the way
// the deployed stack does, with both built functions under the emulator:
// the API function answers events/chat-async.json with 202 and sends the
// job to SQS (moto's server); the test receives the message and hands it
// to the worker function as the event source mapping would (the shape of
// events/worker-sqs.json); the API function then answers GET /jobs/{id}
// with the succeeded job. The same message delivered again runs nothing:
// the conversation holds one turn.
func TestQueuedTurnUnderTheLambdaRuntimeEmulator(t *testing.T) {
	store, env := dynamoForFunction(t)
	ep := chattest.ServerEnv(t, "SQS_TEST_ENDPOINT", "scripts/start-moto.sh")
	sqsClient := awssqs.New(awssqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(ep), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	q, err := sqsClient.CreateQueue(t.Context(), &awssqs.CreateQueueInput{QueueName: aws.String("turns-" + hex.EncodeToString(b))})
	if err != nil {
		t.Fatalf("CreateQueue: %v", err)
	}
	t.Cleanup(func() {
		_, _ = sqsClient.DeleteQueue(context.Background(), &awssqs.DeleteQueueInput{QueueUrl: q.QueueUrl})
	})
	env = append(env, "QUEUE_URL="+aws.ToString(q.QueueUrl), "AWS_ENDPOINT_URL_SQS="+ep)

	rie := rieBinary(t)
	api := startEmulator(t, rie, buildBootstrap(t), env...)
	worker := startEmulator(t, rie, buildFunction(t, "../worker"), env...)

	accepted := api.invoke(t, readEvent(t, "chat-async.json"))
	var job struct {
		JobID  string `json:"job_id"`
		Status string `json:"status"`
	}
	_ = json.Unmarshal([]byte(accepted.body), &job)
	if accepted.status != 202 || job.Status != "queued" || accepted.headers["Location"] != "/jobs/"+job.JobID {
		t.Fatalf("queued chat: %d %s %v; want 202 with the job and its Location", accepted.status, accepted.body, accepted.headers)
	}
	// The same event again (a client retrying with its Idempotency-Key):
	// the same job, not a second one.
	if again := api.invoke(t, readEvent(t, "chat-async.json")); again.status != 202 || again.body != accepted.body {
		t.Fatalf("retried queued chat: %d %s, want the first 202 again", again.status, again.body)
	}

	msgs, err := sqsClient.ReceiveMessage(t.Context(), &awssqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 2,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll}})
	if err != nil || len(msgs.Messages) != 1 {
		t.Fatalf("ReceiveMessage: %d messages, %v; want the one job", len(msgs.Messages), err)
	}
	m := msgs.Messages[0]
	if strings.Contains(aws.ToString(m.Body), "S&P") {
		t.Fatalf("the message carries the question: %s", aws.ToString(m.Body))
	}
	var sample events.SQSEvent
	if err := json.Unmarshal(readEvent(t, "worker-sqs.json"), &sample); err != nil {
		t.Fatalf("events/worker-sqs.json: %v", err)
	}
	deliver := func(receive int) events.SQSEventResponse {
		t.Helper()
		rec := sample.Records[0]
		rec.MessageId, rec.ReceiptHandle, rec.Body = aws.ToString(m.MessageId), aws.ToString(m.ReceiptHandle), aws.ToString(m.Body)
		rec.Attributes = map[string]string{"ApproximateReceiveCount": strconv.Itoa(receive)}
		ev, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{rec}})
		got := worker.invokeRaw(t, ev)
		var resp events.SQSEventResponse
		if err := json.Unmarshal(got, &resp); err != nil {
			t.Fatalf("worker answer %q: %v\nlogs:\n%s", got, err, worker.logs)
		}
		return resp
	}
	if resp := deliver(1); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("worker reported failures %v\nlogs:\n%s", resp.BatchItemFailures, worker.logs)
	}
	if resp := deliver(2); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("second delivery reported failures %v", resp.BatchItemFailures)
	}

	var jobEv eventV1
	_ = json.Unmarshal(readEvent(t, "job.json"), &jobEv)
	jobEv.Path, jobEv.RequestContext.Path = "/jobs/"+job.JobID, "/Prod/jobs/"+job.JobID
	jobEv.PathParameters = map[string]string{"id": job.JobID}
	raw, _ := json.Marshal(jobEv)
	got := api.invoke(t, raw)
	var view struct {
		Status string            `json:"status"`
		Events []json.RawMessage `json:"events"`
		Result struct {
			ConversationID string `json:"conversation_id"`
			Answer         string `json:"answer"`
		} `json:"result"`
	}
	_ = json.Unmarshal([]byte(got.body), &view)
	if got.status != 200 || view.Status != "succeeded" || !strings.Contains(view.Result.Answer, "1,220.04") || len(view.Events) < 4 {
		t.Fatalf("GET /jobs/%s: %d %.400s", job.JobID, got.status, got.body)
	}
	turns, err := store.Turns(t.Context(), "alice", view.Result.ConversationID)
	if err != nil || len(turns) != 1 {
		t.Fatalf("the job's conversation holds %d turns (%v); want 1 after two deliveries", len(turns), err)
	}
}
