package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/datachat/datachat/shared/config"
	"github.com/datachat/datachat/shared/dynamo"
)

// table creates the conversations table on the endpoint of the SDK's
// standard configuration, from the same definition the code and
// template.yaml use. For local servers (dynalite, DynamoDB Local); in AWS
// the stack creates the table.
func table(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("table", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if cfg.TableName == "" {
		return fmt.Errorf("set TABLE_NAME to the table to create (and AWS_ENDPOINT_URL_DYNAMODB to a local endpoint)")
	}
	if getenv("AWS_ENDPOINT_URL_DYNAMODB") == "" && getenv("AWS_ENDPOINT_URL") == "" {
		return fmt.Errorf("AWS_ENDPOINT_URL_DYNAMODB is not set: this command is for local endpoints; in AWS, `sam deploy` creates the table")
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS configuration: %w", err)
	}
	if err := dynamo.CreateTable(ctx, dynamodb.NewFromConfig(awsCfg), cfg.TableName); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "table %s is ready (keys, index %s and TTL on %s as in template.yaml)\n", cfg.TableName, dynamo.ListIndex, dynamo.TTLAttribute)
	return nil
}
