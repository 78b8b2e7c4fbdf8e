package main

import (
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/datachat/datachat/shared/auth"
	"github.com/datachat/datachat/shared/chat"
)

type (
	eventV1    = events.APIGatewayProxyRequest
	responseV1 = events.APIGatewayProxyResponse
)

// claimsAuth trusts only API Gateway's authorizer: the user is the subject
// it verified and put in the event's request context, which a client
// cannot write. An Authorization header alone proves nothing here, since
// the function never checks signatures; a route without the authorizer
// therefore gets 401.
//
// The REST API has two kinds of authorizer (see template.yaml), and each
// leaves the subject in its own place:
//   - the Cognito user pool authorizer: requestContext.authorizer.claims.sub
//     (every claim of the verified token, as strings);
//   - the Lambda authorizer of functions/authorizer, for another identity
//     provider: requestContext.authorizer.principalId, which it sets to the
//     verified token's sub (a Lambda authorizer's context cannot nest a
//     claims object).
type claimsAuth struct{}

func (claimsAuth) Authenticate(r *http.Request) (string, error) {
	rc, ok := core.GetAPIGatewayContextFromContext(r.Context())
	if !ok || len(rc.Authorizer) == 0 {
		return "", chat.Errorf(chat.CodeUnauthorized, "no verified identity: this route must be behind the API's authorizer")
	}
	sub := subject(rc.Authorizer)
	if !auth.ValidSubject(sub) {
		return "", chat.Errorf(chat.CodeUnauthorized, "the authorizer's context carries no valid subject (claims.sub or principalId)")
	}
	return sub, nil
}

// subject reads the verified subject from a v1 authorizer context.
func subject(authorizer map[string]any) string {
	if claims, ok := authorizer["claims"].(map[string]any); ok {
		sub, _ := claims["sub"].(string)
		return sub
	}
	sub, _ := authorizer["principalId"].(string)
	return sub
}
