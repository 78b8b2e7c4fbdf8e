package main

import (
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/datachat/datachat/shared/auth"
	"github.com/datachat/datachat/shared/chat"
)

type (
	eventV2    = events.APIGatewayV2HTTPRequest
	responseV2 = events.APIGatewayV2HTTPResponse
)

// claimsAuth trusts only API Gateway's JWT authorizer: the user is the sub
// claim it verified and put in the event's request context. An
// Authorization header alone proves nothing here, since the function never
// checks signatures; a route without the authorizer therefore gets 401.
type claimsAuth struct{}

func (claimsAuth) Authenticate(r *http.Request) (string, error) {
	rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context())
	if !ok || rc.Authorizer == nil || rc.Authorizer.JWT == nil {
		return "", chat.Errorf(chat.CodeUnauthorized, "no verified identity: this route must be behind the API's JWT authorizer")
	}
	sub := rc.Authorizer.JWT.Claims["sub"]
	if !auth.ValidSubject(sub) {
		return "", chat.Errorf(chat.CodeUnauthorized, "the authorizer's claims carry no valid sub")
	}
	return sub, nil
}
