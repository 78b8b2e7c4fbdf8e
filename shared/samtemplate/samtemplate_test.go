package samtemplate_test

import (
	"reflect"
	"testing"

	"github.com/datachat/datachat/shared/samtemplate"
)

func TestIntrinsicsExpand(t *testing.T) {
	tmpl, err := samtemplate.Parse([]byte(`
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Role: !GetAtt Role.Arn
      Environment:
        Variables:
          TABLE_NAME: !Ref Table
          URL: !Sub "https://${Api}.example"
      Policies:
        - !If [HasKey, {PolicyName: p}, !Ref AWS::NoValue]
`))
	if err != nil {
		t.Fatal(err)
	}
	fn := tmpl.Resources["Fn"]
	if fn.Type != "AWS::Serverless::Function" {
		t.Fatalf("type %q", fn.Type)
	}
	if got := samtemplate.Path(fn.Properties, "Role"); !reflect.DeepEqual(got, map[string]any{"Fn::GetAtt": []any{"Role", "Arn"}}) {
		t.Errorf("GetAtt: %v", got)
	}
	if got := samtemplate.Path(fn.Properties, "Environment", "Variables", "TABLE_NAME"); !reflect.DeepEqual(got, map[string]any{"Ref": "Table"}) {
		t.Errorf("Ref: %v", got)
	}
	pol := samtemplate.List(fn.Properties["Policies"])[0]
	ifv := samtemplate.Map(pol)["Fn::If"].([]any)
	if ifv[0] != "HasKey" || !reflect.DeepEqual(ifv[2], map[string]any{"Ref": "AWS::NoValue"}) {
		t.Errorf("If: %v", pol)
	}
}
