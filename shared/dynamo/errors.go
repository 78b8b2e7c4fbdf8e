package dynamo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/datachat/datachat/shared/chat"
)

// fail translates err from operation op on a conversation into a
// *chat.Error whose message names the operation and the conversation, and
// whose Err names the table and key for the logs.
func (s *Store) fail(ctx context.Context, op string, key convKey, err error) error {
	return s.translate(ctx, op, fmt.Sprintf("conversation %q", key.conv), "key "+key.String(), err)
}

// failUser is fail for operations on all of a user's conversations.
func (s *Store) failUser(ctx context.Context, op, userID string, err error) error {
	return s.translate(ctx, op, "the user's conversations", "index "+ListIndex+" partition "+userPartition(userID), err)
}

func (s *Store) translate(ctx context.Context, op, subject, where string, err error) error {
	var ce *chat.Error
	if errors.As(err, &ce) {
		return err
	}
	e := &chat.Error{Op: "dynamo." + op, Err: fmt.Errorf("table %s %s: %w", s.table, where, err)}
	unavailable := func(format string, args ...any) error {
		e.Code = chat.CodeUnavailable
		e.Message = fmt.Sprintf(format, args...)
		return e
	}
	// operator keeps what only the operator can act on (table names,
	// endpoints, credentials, addresses) in the logged error; the caller
	// gets a plain "unavailable, try again".
	operator := func(format string, args ...any) error {
		e.Code = chat.CodeUnavailable
		e.Message = fmt.Sprintf("the conversation store is unavailable (%s of %s); try again shortly", op, subject)
		e.Err = fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), e.Err)
		return e
	}
	var (
		api      smithy.APIError
		notFound *types.ResourceNotFoundException
		netErr   net.Error
	)
	switch {
	case ctx.Err() != nil:
		// The caller's deadline or cancellation, not the store's fault.
		e.Code = chat.CodeDeadline
		e.Message = fmt.Sprintf("the request ran out of time during %s of %s", op, subject)
		return e
	case errors.As(err, &notFound):
		return operator("the conversation table %q does not exist; create it (make table) or set TABLE_NAME to the table's name", s.table)
	case errors.As(err, &api):
		switch api.ErrorCode() {
		case "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded", "TransactionInProgressException":
			e.RetryAfter = 1
			return unavailable("the conversation store is throttling requests (%s of %s); try again in a few seconds", op, subject)
		case "TransactionCanceledException":
			if isThrottledCancel(err) {
				e.RetryAfter = 1
				return unavailable("the conversation store is throttling requests (%s of %s); try again in a few seconds", op, subject)
			}
		case "ConditionalCheckFailedException", "TransactionConflictException":
			e.Code = chat.CodeConflict
			e.Message = fmt.Sprintf("%s changed during %s; try again", subject, op)
			return e
		case "InternalServerError", "ServiceUnavailable", "InternalFailure":
			e.RetryAfter = 1
			return unavailable("the conversation store failed (%s of %s); try again shortly", op, subject)
		case "UnrecognizedClientException", "AccessDeniedException", "InvalidSignatureException",
			"MissingAuthenticationTokenException", "ExpiredTokenException", "IncompleteSignatureException":
			return operator("DynamoDB refused this service's AWS credentials; check the function's role or AWS credentials")
		}
	case errors.Is(err, syscall.ECONNREFUSED):
		return operator("cannot reach DynamoDB: connection refused; check AWS_ENDPOINT_URL_DYNAMODB and that DynamoDB is reachable")
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return unavailable("the conversation store did not answer in time (%s of %s); try again shortly", op, subject)
	case errors.As(err, &netErr):
		return operator("cannot reach DynamoDB: %v", netErr)
	}
	// Anything else (a ValidationException, a decoding failure) is a bug
	// here, not something the caller can change.
	e.Code = chat.CodeInternal
	e.Message = fmt.Sprintf("%s of %s failed", op, subject)
	return e
}

func isThrottledCancel(err error) bool {
	var c *types.TransactionCanceledException
	if !errors.As(err, &c) {
		return false
	}
	for _, r := range c.CancellationReasons {
		if r.Code != nil && (*r.Code == "ThrottlingError" || *r.Code == "ProvisionedThroughputExceeded") {
			return true
		}
	}
	return false
}
