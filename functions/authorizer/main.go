// Command authorizer is the REST API's TOKEN Lambda authorizer for another
// identity provider than the stack's user pool (template parameter
// JwtIssuer). It verifies the bearer token against the keys the issuer
// publishes and tells API Gateway who the caller is: the token's sub as
// principalId, which the API function reads (functions/api, claimsAuth).
//
// API Gateway does not pass a request to the function when this denies it,
// and keeps each verdict for the authorizer's cache time, so the policy it
// returns covers every route of the stage, not just the one called first.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/datachat/datachat/shared/auth"
	"github.com/datachat/datachat/shared/config"
)

func main() {
	handler, err := build(context.Background(), os.Getenv, os.Stderr, &http.Client{Timeout: 5 * time.Second})
	if err != nil {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("init failed", slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(handler)
}

type (
	request  = events.APIGatewayCustomAuthorizerRequest
	response = events.APIGatewayCustomAuthorizerResponse
)

// errUnauthorized is the one answer API Gateway turns into 401: any other
// error becomes 500. Why a token was refused goes to the log only.
var errUnauthorized = errors.New("Unauthorized")

// build is main without the process. ctx bounds the background refresh of
// the issuer's keys.
func build(ctx context.Context, getenv func(string) string, logs io.Writer, client *http.Client) (func(context.Context, request) (response, error), error) {
	cfg, err := config.AuthorizerFromEnv(getenv)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: cfg.LogLevel}))
	// The key set outlives init (its refresh runs until ctx ends), so the
	// client's timeout, not a context, keeps init's requests short.
	issuer, err := auth.NewIssuer(ctx, client, cfg.Issuer, cfg.Audience, nil)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, req request) (response, error) {
		token, ok := strings.CutPrefix(req.AuthorizationToken, "Bearer ")
		if !ok {
			logger.Info("refused", slog.String("reason", "the Authorization header is not a bearer token"))
			return response{}, errUnauthorized
		}
		sub, err := issuer.Verify(ctx, strings.TrimSpace(token))
		if err != nil {
			logger.Info("refused", slog.String("reason", err.Error()))
			return response{}, errUnauthorized
		}
		return allow(sub, req.MethodArn), nil
	}, nil
}

// allow lets sub call every method of the stage that req.MethodArn names
// (arn:aws:execute-api:region:account:api/stage/VERB/path): API Gateway
// caches the verdict per token and applies it to the next routes called.
func allow(sub, methodArn string) response {
	resource := methodArn
	if parts := strings.SplitN(methodArn, "/", 3); len(parts) == 3 {
		resource = parts[0] + "/" + parts[1] + "/*"
	}
	return response{
		PrincipalID: sub,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version: "2012-10-17",
			Statement: []events.IAMPolicyStatement{{
				Action:   []string{"execute-api:Invoke"},
				Effect:   "Allow",
				Resource: []string{resource},
			}},
		},
	}
}
