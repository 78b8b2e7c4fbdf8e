package dynamo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TableClient is the part of the DynamoDB API CreateTable calls.
// *dynamodb.Client implements it.
type TableClient interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	DescribeTimeToLive(ctx context.Context, in *dynamodb.DescribeTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

// CreateTable creates the table described by TableDefinition, waits until
// it is active and turns on TTL on TTLAttribute. A table that already
// exists is fine if its keys are the store's; one with other keys is an
// error. It is for local and test tables: deployed tables come from
// template.yaml (which adds point-in-time recovery and encryption settings),
// and the store never creates tables by itself.
func CreateTable(ctx context.Context, client TableClient, name string) error {
	def := TableDefinition(name)
	_, err := client.CreateTable(ctx, def)
	var exists *types.ResourceInUseException
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("dynamo.CreateTable %q: %w", name, err)
	}
	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		// The defaults poll every 20 s; a new on-demand table is usually
		// active within seconds, and a local one within milliseconds.
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 5*time.Second
	})
	desc, err := waiter.WaitForOutput(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 5*time.Minute)
	if err != nil {
		return fmt.Errorf("dynamo.CreateTable %q: waiting for the table to become active: %w", name, err)
	}
	if err := sameKeys(def, desc.Table); err != nil {
		return fmt.Errorf("dynamo.CreateTable %q: the table exists with other keys than this store uses: %w", name, err)
	}

	ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil {
		return fmt.Errorf("dynamo.CreateTable %q: describe TTL: %w", name, err)
	}
	if d := ttl.TimeToLiveDescription; d != nil {
		switch d.TimeToLiveStatus {
		case types.TimeToLiveStatusEnabled, types.TimeToLiveStatusEnabling:
			if aws.ToString(d.AttributeName) != TTLAttribute {
				return fmt.Errorf("dynamo.CreateTable %q: TTL is on attribute %q; the store writes %q", name, aws.ToString(d.AttributeName), TTLAttribute)
			}
			return nil
		}
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(TTLAttribute), Enabled: aws.Bool(true)},
	})
	if err != nil {
		return fmt.Errorf("dynamo.CreateTable %q: enable TTL on %s: %w", name, TTLAttribute, err)
	}
	return nil
}

// sameKeys compares the key schemas of the table and its list index.
func sameKeys(want *dynamodb.CreateTableInput, got *types.TableDescription) error {
	if got == nil {
		return errors.New("no table description")
	}
	if a, b := keyString(want.KeySchema), keyString(got.KeySchema); a != b {
		return fmt.Errorf("table keys are %s, want %s", b, a)
	}
	for _, w := range want.GlobalSecondaryIndexes {
		i := slices.IndexFunc(got.GlobalSecondaryIndexes, func(g types.GlobalSecondaryIndexDescription) bool {
			return aws.ToString(g.IndexName) == aws.ToString(w.IndexName)
		})
		if i < 0 {
			return fmt.Errorf("index %s is missing", aws.ToString(w.IndexName))
		}
		if a, b := keyString(w.KeySchema), keyString(got.GlobalSecondaryIndexes[i].KeySchema); a != b {
			return fmt.Errorf("index %s keys are %s, want %s", aws.ToString(w.IndexName), b, a)
		}
	}
	return nil
}

func keyString(ks []types.KeySchemaElement) string {
	s := ""
	for _, k := range ks {
		s += fmt.Sprintf("%s(%s) ", aws.ToString(k.AttributeName), k.KeyType)
	}
	return s
}
