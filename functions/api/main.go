// Command api is the Lambda function behind API Gateway's HTTP API: the
// service's handler adapted to payload v2 events. The user comes only from
// the JWT authorizer's claims (see claimsAuth).
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/datachat/datachat/shared/app"
	"github.com/datachat/datachat/shared/config"
)

func main() {
	handler, err := build(os.Getenv, os.Stderr)
	if err != nil {
		// Lambda reports the init failure; the log says why.
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("init failed", slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(handler)
}

// build is main without the process: everything a test needs to drive the
// function with real events.
func build(getenv func(string) string, logs io.Writer) (func(context.Context, eventV2) (responseV2, error), error) {
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	// JSON lines, which CloudWatch Logs Insights queries field by field.
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: cfg.LogLevel}))
	a, err := app.New(cfg, app.Deps{Auth: claimsAuth{}, Logger: logger})
	if err != nil {
		return nil, err
	}
	if len(a.Embedded) > 0 {
		logger.Warn("running on embedded defaults; set the variables named here for a deployed stack", slog.Any("embedded", a.Embedded))
	}
	return httpadapter.NewV2(a.Handler).ProxyWithContext, nil
}
