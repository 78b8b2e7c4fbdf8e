package dynamo_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/datachat/datachat/shared/dynamo"
	"github.com/datachat/datachat/shared/samtemplate"
)

// The table in template.yaml is the table the code expects: same
// attributes, keys, list index and TTL attribute, plus the production
// settings CreateTable leaves out.
func TestTemplateMatchesCode(t *testing.T) {
	t.Parallel()
	tmpl, err := samtemplate.Open("../../template.yaml")
	if err != nil {
		t.Fatalf("parse template.yaml: %v", err)
	}
	res, ok := tmpl.Resources["ConversationsTable"]
	if !ok || res.Type != "AWS::DynamoDB::Table" {
		t.Fatalf("template.yaml has no AWS::DynamoDB::Table named ConversationsTable")
	}
	tbl := res.Properties
	want := dynamo.TableDefinition("ignored")

	var gotAttrs, wantAttrs []string
	for _, a := range samtemplate.List(tbl["AttributeDefinitions"]) {
		m := samtemplate.Map(a)
		gotAttrs = append(gotAttrs, fmt.Sprint(m["AttributeName"], ":", m["AttributeType"]))
	}
	for _, a := range want.AttributeDefinitions {
		wantAttrs = append(wantAttrs, aws.ToString(a.AttributeName)+":"+string(a.AttributeType))
	}
	slices.Sort(gotAttrs)
	slices.Sort(wantAttrs)
	if !slices.Equal(gotAttrs, wantAttrs) {
		t.Errorf("AttributeDefinitions: template %v, code %v", gotAttrs, wantAttrs)
	}

	if got, want := templateKeys(tbl["KeySchema"]), sdkKeys(want.KeySchema); got != want {
		t.Errorf("KeySchema: template %s, code %s", got, want)
	}

	var gotIdx, wantIdx []string
	for _, g := range samtemplate.List(tbl["GlobalSecondaryIndexes"]) {
		m := samtemplate.Map(g)
		gotIdx = append(gotIdx, fmt.Sprintf("%v %s %v", m["IndexName"], templateKeys(m["KeySchema"]), samtemplate.Path(m, "Projection", "ProjectionType")))
	}
	for _, g := range want.GlobalSecondaryIndexes {
		wantIdx = append(wantIdx, fmt.Sprintf("%s %s %s", aws.ToString(g.IndexName), sdkKeys(g.KeySchema), g.Projection.ProjectionType))
	}
	if !slices.Equal(gotIdx, wantIdx) {
		t.Errorf("GlobalSecondaryIndexes: template %q, code %q", gotIdx, wantIdx)
	}

	ttl := samtemplate.Map(tbl["TimeToLiveSpecification"])
	if ttl["Enabled"] != true || ttl["AttributeName"] != dynamo.TTLAttribute {
		t.Errorf("TimeToLiveSpecification: template %v, want enabled on %q", ttl, dynamo.TTLAttribute)
	}
	if got := tbl["BillingMode"]; got != string(want.BillingMode) {
		t.Errorf("BillingMode: template %v, code %q", got, want.BillingMode)
	}
	if samtemplate.Path(tbl, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled") != true {
		t.Errorf("PointInTimeRecoverySpecification: %v, want enabled", tbl["PointInTimeRecoverySpecification"])
	}
	if samtemplate.Path(tbl, "SSESpecification", "SSEEnabled") != true {
		t.Errorf("SSESpecification: %v, want enabled", tbl["SSESpecification"])
	}
	if name, ok := tbl["TableName"]; ok {
		t.Errorf("TableName is fixed to %v; let CloudFormation name it so that stacks do not collide", name)
	}
}

func templateKeys(ks any) string {
	s := ""
	for _, k := range samtemplate.List(ks) {
		m := samtemplate.Map(k)
		s += fmt.Sprint(m["AttributeName"], "(", m["KeyType"], ") ")
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
