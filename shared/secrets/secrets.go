// Package secrets reads the model provider's API key from AWS Secrets
// Manager, once at start-up, so that the key is never a plain environment
// variable of the deployed function.
package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// GetSecretValueAPI is the one call Fetch needs; *secretsmanager.Client
// satisfies it, and tests can too.
type GetSecretValueAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ GetSecretValueAPI = (*secretsmanager.Client)(nil)

// IsNotFound reports whether err says that no secret has the ARN.
func IsNotFound(err error) bool {
	var nf *types.ResourceNotFoundException
	return errors.As(err, &nf)
}

// KeyFields are the fields of a JSON-object secret that Fetch reads, in
// order of preference.
func KeyFields() []string { return []string{"OPENAI_API_KEY", "api_key"} }

// Fetch returns the API key held by the secret arn (its current version).
//
// The secret is either the key itself, as plain text, or a JSON object
// with the key in its "OPENAI_API_KEY" field or, failing that, its
// "api_key" field (the console's key/value form). Surrounding white space
// is trimmed. Errors name the ARN, never the secret's value; IsNotFound
// tells a missing secret.
func Fetch(ctx context.Context, api GetSecretValueAPI, arn string) (string, error) {
	if arn == "" {
		return "", errors.New("secrets.Fetch: the secret ARN is empty")
	}
	out, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &arn})
	if err != nil {
		if IsNotFound(err) {
			return "", fmt.Errorf("secrets.Fetch %s: no such secret, or not visible to this role in this region: %w", arn, err)
		}
		return "", fmt.Errorf("secrets.Fetch %s: %w", arn, err)
	}
	var raw string
	switch {
	case out.SecretString != nil:
		raw = *out.SecretString
	case out.SecretBinary != nil:
		raw = string(out.SecretBinary)
	}
	key, err := parse(raw)
	if err != nil {
		return "", fmt.Errorf("secrets.Fetch %s: %w", arn, err)
	}
	return key, nil
}

// parse extracts the key from a secret's text. Its errors describe the
// shape of the secret, never its content.
func parse(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", errors.New("the secret is empty")
	}
	if !strings.HasPrefix(s, "{") {
		return s, nil
	}
	var fields map[string]any
	if err := json.Unmarshal([]byte(s), &fields); err != nil {
		// The decoder's message can quote the secret; do not wrap it.
		return "", errors.New("the secret starts with '{' but is not a JSON object")
	}
	for _, name := range KeyFields() {
		v, ok := fields[name]
		if !ok {
			continue
		}
		key, isString := v.(string)
		if key = strings.TrimSpace(key); !isString || key == "" {
			return "", fmt.Errorf("the secret's field %q is not a non-empty string", name)
		}
		return key, nil
	}
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	slices.Sort(names)
	return "", fmt.Errorf("the secret is a JSON object without an %s field; its fields are: %s",
		strings.Join(KeyFields(), " or "), strings.Join(names, ", "))
}

// FetchDefault is Fetch with a client on the AWS SDK's standard
// configuration (region, credentials and endpoint from the environment,
// as a Lambda function has them): what the functions read their keys with
// at init.
func FetchDefault(ctx context.Context, arn string) (string, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return "", fmt.Errorf("load AWS configuration: %w", err)
	}
	return Fetch(ctx, secretsmanager.NewFromConfig(cfg), arn)
}
