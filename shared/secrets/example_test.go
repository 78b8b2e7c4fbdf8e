package secrets_test

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/datachat/datachat/shared/secrets"
)

// At a Lambda function's start: fetch the key once and keep it for every
// invocation.
func ExampleFetch() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	arn := "arn:aws:secretsmanager:eu-west-1:123456789012:secret:datachat/openai"
	key, err := secrets.Fetch(ctx, secretsmanager.NewFromConfig(cfg), arn)
	if err != nil {
		fmt.Println(err) // names the ARN, never the value
		return
	}
	_ = key // openai.Options{APIKey: key}
}
