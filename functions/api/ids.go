package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/datachat/datachat/shared/reqlog"
)

// traceIDKey is the context key under which aws-lambda-go puts the
// invocation's X-Amzn-Trace-Id (a plain string key, set by its runtime loop).
const traceIDKey = "x-amzn-trace-id"

// withInvocationIDs puts the Lambda request id and the invocation's trace
// id into ctx, so every log line and metrics line of the request names them.
func withInvocationIDs(ctx context.Context) context.Context {
	var ids reqlog.IDs
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		ids.Request = lc.AwsRequestID
	}
	ids.Trace, _ = ctx.Value(traceIDKey).(string)
	if ids == (reqlog.IDs{}) {
		return ctx
	}
	return reqlog.With(ctx, ids)
}
