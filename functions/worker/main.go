// Command worker is the Lambda function behind the queued-turns SQS
// queue: each message names a job (user and job id, nothing else), and
// the worker runs that job's turn with the same agent, limits and store as
// POST /chat, writing its events and answer into the job record. Messages
// come one at a time (batch size 1); a failed one is reported alone
// (ReportBatchItemFailures) and comes back after the visibility timeout,
// until the queue's maxReceiveCount moves it to the dead-letter queue.
package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/datachat/datachat/shared/app"
	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/reqlog"
	"github.com/datachat/datachat/shared/secrets"
	"github.com/datachat/datachat/shared/sqs"
)

func main() {
	w, err := build(os.Getenv, os.Stdout, secrets.FetchDefault)
	if err != nil {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("init failed", slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(w.handle)
}

// worker holds what concurrent invocations may share.
type worker struct {
	run    chat.JobHandler
	logger *slog.Logger
}

func build(getenv func(string) string, logs io.Writer, fetch app.SecretFetcher) (*worker, error) {
	a, logger, err := app.ForLambda(getenv, logs, fetch, noUsers{})
	if err != nil {
		return nil, err
	}
	return &worker{run: a.Worker.Handle, logger: logger}, nil
}

// handle runs each message's job and reports the ones to deliver again.
// A message that is not a job can never succeed: it is logged and
// dropped rather than retried into the dead-letter queue.
func (w *worker) handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, m := range ev.Records {
		mctx := withInvocationIDs(ctx, m)
		job, err := sqs.DecodeJob(m.Body)
		if err != nil {
			w.logger.LogAttrs(mctx, slog.LevelError, "message dropped: not a job", slog.String("message_id", m.MessageId), slog.String("error", err.Error()))
			continue
		}
		attempt, _ := strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
		if err := w.run(mctx, job, max(attempt, 1)); err != nil {
			w.logger.LogAttrs(mctx, slog.LevelWarn, "job delivery failed; it will be delivered again", slog.String("job_id", job.JobID),
				slog.String("message_id", m.MessageId), slog.Int("delivery", attempt), slog.String("error", err.Error()))
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
	}
	return resp, nil
}

// withInvocationIDs names the invocation's request and trace in every log
// line of the job (the message's own trace header when the queue kept one).
func withInvocationIDs(ctx context.Context, m events.SQSMessage) context.Context {
	var ids reqlog.IDs
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		ids.Request = lc.AwsRequestID
	}
	ids.Trace = m.Attributes["AWSTraceHeader"]
	if ids.Trace == "" {
		ids.Trace, _ = ctx.Value("x-amzn-trace-id").(string)
	}
	return reqlog.With(ctx, ids)
}

// noUsers authenticates nobody: the worker serves no HTTP request, and
// its jobs carry their verified user from the request that queued them.
type noUsers struct{}

func (noUsers) Authenticate(*http.Request) (string, error) {
	return "", chat.Errorf(chat.CodeUnauthorized, "the worker serves no requests")
}
