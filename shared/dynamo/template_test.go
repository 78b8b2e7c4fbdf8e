package dynamo_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/awslabs/goformation/v7"
	cfn "github.com/awslabs/goformation/v7/cloudformation/dynamodb"

	"github.com/datachat/datachat/shared/dynamo"
)

// The table in template.yaml is the table the code expects: same
// attributes, keys, list index and TTL attribute, plus the production
// settings CreateTable leaves out.
func TestTemplateMatchesCode(t *testing.T) {
	t.Parallel()
	tmpl, err := goformation.Open("../../template.yaml")
	if err != nil {
		t.Fatalf("parse template.yaml: %v", err)
	}
	tbl, err := tmpl.GetDynamoDBTableWithName("ConversationsTable")
	if err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	want := dynamo.TableDefinition("ignored")

	var gotAttrs, wantAttrs []string
	for _, a := range tbl.AttributeDefinitions {
		gotAttrs = append(gotAttrs, a.AttributeName+":"+a.AttributeType)
	}
	for _, a := range want.AttributeDefinitions {
		wantAttrs = append(wantAttrs, aws.ToString(a.AttributeName)+":"+string(a.AttributeType))
	}
	slices.Sort(gotAttrs)
	slices.Sort(wantAttrs)
	if !slices.Equal(gotAttrs, wantAttrs) {
		t.Errorf("AttributeDefinitions: template %v, code %v", gotAttrs, wantAttrs)
	}

	if got, want := cfnKeys(tbl.KeySchema), sdkKeys(want.KeySchema); got != want {
		t.Errorf("KeySchema: template %s, code %s", got, want)
	}

	var gotIdx, wantIdx []string
	for _, g := range tbl.GlobalSecondaryIndexes {
		proj := ""
		if g.Projection != nil {
			proj = aws.ToString(g.Projection.ProjectionType)
		}
		gotIdx = append(gotIdx, fmt.Sprintf("%s %s %s", g.IndexName, cfnKeys(g.KeySchema), proj))
	}
	for _, g := range want.GlobalSecondaryIndexes {
		wantIdx = append(wantIdx, fmt.Sprintf("%s %s %s", aws.ToString(g.IndexName), sdkKeys(g.KeySchema), g.Projection.ProjectionType))
	}
	if !slices.Equal(gotIdx, wantIdx) {
		t.Errorf("GlobalSecondaryIndexes: template %q, code %q", gotIdx, wantIdx)
	}

	if ttl := tbl.TimeToLiveSpecification; ttl == nil || !ttl.Enabled || aws.ToString(ttl.AttributeName) != dynamo.TTLAttribute {
		got := "none"
		if ttl != nil {
			got = fmt.Sprintf("enabled=%v on %q", ttl.Enabled, aws.ToString(ttl.AttributeName))
		}
		t.Errorf("TimeToLiveSpecification: template %s, want enabled on %q", got, dynamo.TTLAttribute)
	}
	if got := aws.ToString(tbl.BillingMode); got != string(want.BillingMode) {
		t.Errorf("BillingMode: template %q, code %q", got, want.BillingMode)
	}
	if p := tbl.PointInTimeRecoverySpecification; p == nil || !aws.ToBool(p.PointInTimeRecoveryEnabled) {
		t.Errorf("PointInTimeRecoverySpecification: %+v, want enabled", p)
	}
	if s := tbl.SSESpecification; s == nil || !s.SSEEnabled {
		t.Errorf("SSESpecification: %+v, want enabled", s)
	}
	if tbl.TableName != nil {
		t.Errorf("TableName is fixed to %q; let CloudFormation name it so that stacks do not collide", *tbl.TableName)
	}
}

func cfnKeys(ks []cfn.Table_KeySchema) string {
	s := ""
	for _, k := range ks {
		s += k.AttributeName + "(" + k.KeyType + ") "
	}
	return s
}

func sdkKeys(ks []types.KeySchemaElement) string {
	s := ""
	for _, k := range ks {
		s += aws.ToString(k.AttributeName) + "(" + string(k.KeyType) + ") "
	}
	return s
}
