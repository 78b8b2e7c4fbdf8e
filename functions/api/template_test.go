package main

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/datachat/datachat/shared/config"
	"github.com/datachat/datachat/shared/httpapi"
	"github.com/datachat/datachat/shared/samtemplate"
)

// These tests read template.yaml and fail when the deployment and the code
// disagree: nothing here can reach AWS, so this is where a wrong template
// is caught.

func openTemplate(t *testing.T) *samtemplate.Template {
	t.Helper()
	tmpl, err := samtemplate.Open("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func functions(tmpl *samtemplate.Template) map[string]samtemplate.Resource {
	out := map[string]samtemplate.Resource{}
	for name, r := range tmpl.Resources {
		if r.Type == "AWS::Serverless::Function" {
			out[name] = r
		}
	}
	return out
}

func TestTemplateGlobals(t *testing.T) {
	g := samtemplate.Map(openTemplate(t).Globals["Function"])
	checks := map[string]any{
		"Runtime":       "provided.al2023",
		"Handler":       "bootstrap",
		"Tracing":       "Active",
		"MemorySize":    map[string]any{"Ref": "FunctionMemorySize"},
		"Timeout":       map[string]any{"Ref": "FunctionTimeout"},
		"Architectures": []any{"arm64"},
	}
	for k, want := range checks {
		if got := g[k]; !equal(got, want) {
			t.Errorf("Globals.Function.%s = %v, want %v", k, got, want)
		}
	}
	if got := samtemplate.Path(g, "LoggingConfig", "LogFormat"); got != "JSON" {
		t.Errorf("LogFormat = %v, want JSON", got)
	}
}

func equal(a, b any) bool { return fmtAny(a) == fmtAny(b) }

// fmtAny renders a parsed YAML value canonically (sorted keys), to compare.
func fmtAny(v any) string {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		for _, k := range keys {
			b.WriteString(k + ":" + fmtAny(x[k]) + ";")
		}
		return "{" + b.String() + "}"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = fmtAny(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return fmt.Sprint(v)
}

func toString(v any) string { return fmt.Sprint(v) }

func TestEveryFunctionHasItsBuildTarget(t *testing.T) {
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	fns := functions(openTemplate(t))
	if len(fns) == 0 {
		t.Fatal("template.yaml declares no function")
	}
	for name, fn := range fns {
		if got := samtemplate.Path(fn.Metadata, "BuildMethod"); got != "makefile" {
			t.Errorf("%s: Metadata.BuildMethod = %v, want makefile", name, got)
		}
		if got := fn.Properties["CodeUri"]; got != "." {
			t.Errorf("%s: CodeUri = %v, want . (the Makefile is at the root)", name, got)
		}
		re := regexp.MustCompile(`(?m)^build-` + name + `:\n((?:\t.*\n)+)`)
		m := re.FindSubmatch(makefile)
		if m == nil {
			t.Errorf("%s: the Makefile has no build-%s target", name, name)
			continue
		}
		recipe := string(m[1])
		for _, want := range []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64", "-tags lambda.norpc", "$(ARTIFACTS_DIR)/bootstrap", "./functions/"} {
			if !strings.Contains(recipe, want) && !strings.Contains(strings.ReplaceAll(recipe, "$(LAMBDA_FLAGS)", "-trimpath -tags lambda.norpc"), want) {
				t.Errorf("build-%s lacks %q: %s", name, want, recipe)
			}
		}
	}
}

// localOnly are the variables the code reads that a deployed function
// must not set, each with its reason.
var localOnly = map[string]string{
	"PORT":             "the local server's port; Lambda serves through the runtime API",
	"AUTH_JWT_SECRET":  "local tokens; in Lambda the API's JWT authorizer verifies tokens",
	"OPENAI_API_KEY":   "a secret: deployed functions read it from OPENAI_API_KEY_SECRET_ARN",
	"WEAVIATE_API_KEY": "a secret: deployed functions read it from WEAVIATE_API_KEY_SECRET_ARN",
}

func TestEveryVariableTheCodeReadsIsSet(t *testing.T) {
	read := map[string]bool{}
	if _, err := config.FromEnv(func(k string) string { read[k] = true; return "" }); err != nil {
		t.Fatal(err)
	}
	fn := functions(openTemplate(t))["ApiFunction"]
	vars := samtemplate.Map(samtemplate.Path(fn.Properties, "Environment", "Variables"))
	for name := range read {
		_, set := vars[name]
		switch _, local := localOnly[name]; {
		case local && set:
			t.Errorf("ApiFunction sets %s: %s", name, localOnly[name])
		case !local && !set:
			t.Errorf("the code reads %s but ApiFunction does not set it", name)
		}
	}
	for name := range vars {
		if !read[name] {
			t.Errorf("ApiFunction sets %s, which the code never reads", name)
		}
	}
}

func TestNoSecretValueInEnvironment(t *testing.T) {
	secretName := regexp.MustCompile(`(API_KEY|SECRET|TOKEN|PASSWORD)$`)
	secretValue := regexp.MustCompile(`^(sk-|AKIA|eyJ)`)
	for fname, fn := range functions(openTemplate(t)) {
		for name, v := range samtemplate.Map(samtemplate.Path(fn.Properties, "Environment", "Variables")) {
			if secretName.MatchString(name) && !strings.HasSuffix(name, "_ARN") {
				t.Errorf("%s: %s looks like a secret in plain text; pass a Secrets Manager ARN instead", fname, name)
			}
			if s, ok := v.(string); ok && secretValue.MatchString(s) {
				t.Errorf("%s: %s holds what looks like a credential", fname, name)
			}
		}
	}
}

func TestEveryRouteIsDeclaredWithTheAuthorizer(t *testing.T) {
	tmpl := openTemplate(t)
	api := tmpl.Resources["HttpApi"]
	if got := samtemplate.Path(api.Properties, "Auth", "DefaultAuthorizer"); got != "JwtAuthorizer" {
		t.Fatalf("HttpApi default authorizer = %v, want JwtAuthorizer", got)
	}
	if samtemplate.Path(api.Properties, "Auth", "Authorizers", "JwtAuthorizer", "JwtConfiguration") == nil {
		t.Fatal("JwtAuthorizer has no JwtConfiguration")
	}
	declared := map[string]bool{}
	for _, ev := range samtemplate.Map(functions(tmpl)["ApiFunction"].Properties["Events"]) {
		e := samtemplate.Map(ev)
		if e["Type"] != "HttpApi" {
			continue
		}
		p := samtemplate.Map(e["Properties"])
		key := toString(p["Method"]) + " " + toString(p["Path"])
		declared[key] = samtemplate.Path(p, "Auth", "Authorizer") != "NONE"
		if !equal(p["ApiId"], map[string]any{"Ref": "HttpApi"}) {
			t.Errorf("%s is not attached to HttpApi", key)
		}
	}
	for _, r := range httpapi.Routes() {
		key := r.Method + " " + r.Path
		authed, ok := declared[key]
		switch {
		case !ok:
			t.Errorf("the handler serves %s but template.yaml does not route it", key)
		case authed != r.Auth:
			t.Errorf("%s: authorizer %v in the template, but the handler expects auth=%v", key, authed, r.Auth)
		}
		delete(declared, key)
	}
	for key := range declared {
		t.Errorf("template.yaml routes %s, which the handler does not serve", key)
	}
}

// allowedActions is every action the code needs: the DynamoDB calls of
// shared/dynamo (TransactWriteItems is authorised per item) and reading
// the secrets.
var allowedActions = []string{
	"dynamodb:Query", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
	"dynamodb:DeleteItem", "dynamodb:ConditionCheckItem", "dynamodb:BatchWriteItem",
	"secretsmanager:GetSecretValue",
}

func TestIAMIsLeastPrivilege(t *testing.T) {
	tmpl := openTemplate(t)
	for name, fn := range functions(tmpl) {
		if fn.Properties["Policies"] != nil {
			t.Errorf("%s uses SAM policy templates; write the statements out in its role", name)
		}
	}
	statements := 0
	for name, r := range tmpl.Resources {
		if r.Type != "AWS::IAM::Role" {
			continue
		}
		for _, arn := range samtemplate.List(r.Properties["ManagedPolicyArns"]) {
			s := fmtAny(arn)
			if !strings.Contains(s, "AWSLambdaBasicExecutionRole") && !strings.Contains(s, "AWSXRayDaemonWriteAccess") {
				t.Errorf("%s attaches %s; only the logging and tracing managed policies are allowed", name, s)
			}
		}
		for _, st := range policyStatements(r.Properties["Policies"]) {
			statements++
			for _, a := range samtemplate.List(st["Action"]) {
				if !slices.Contains(allowedActions, toString(a)) {
					t.Errorf("%s allows %v, outside the actions the code calls", name, a)
				}
			}
			for _, res := range samtemplate.List(st["Resource"]) {
				s := fmtAny(res)
				if sub, ok := samtemplate.Map(res)["Fn::Sub"].(string); ok {
					s = sub
				}
				if s == "*" || strings.HasSuffix(s, ":*") || (strings.Contains(s, "*") && !strings.HasSuffix(s, "/index/*")) {
					t.Errorf("%s grants %v on %s; data access needs named resources", name, st["Action"], s)
				}
			}
		}
	}
	if statements == 0 {
		t.Fatal("found no IAM statements: the function would have no access to its table")
	}
}

// policyStatements collects the statements of a role's inline policies,
// including both branches of an Fn::If.
func policyStatements(policies any) []map[string]any {
	var out []map[string]any
	var walk func(v any)
	walk = func(v any) {
		m := samtemplate.Map(v)
		if ifv, ok := m["Fn::If"].([]any); ok && len(ifv) == 3 {
			walk(ifv[1])
			walk(ifv[2])
			return
		}
		for _, st := range samtemplate.List(samtemplate.Path(m, "PolicyDocument", "Statement")) {
			out = append(out, samtemplate.Map(st))
		}
	}
	for _, p := range samtemplate.List(policies) {
		walk(p)
	}
	return out
}

func TestOutputs(t *testing.T) {
	out := openTemplate(t).Outputs
	for _, k := range []string{"ApiUrl", "UserPoolId", "UserPoolClientId", "ConversationsTableName"} {
		if _, ok := out[k]; !ok {
			t.Errorf("template.yaml lacks output %s", k)
		}
	}
}

func TestEveryAlarmNotifies(t *testing.T) {
	n := 0
	for name, r := range openTemplate(t).Resources {
		if r.Type != "AWS::CloudWatch::Alarm" {
			continue
		}
		n++
		if !equal(r.Properties["AlarmActions"], []any{map[string]any{"Ref": "AlarmTopic"}}) {
			t.Errorf("%s notifies %v, want the AlarmTopic", name, r.Properties["AlarmActions"])
		}
	}
	if n == 0 {
		t.Fatal("template.yaml declares no alarm")
	}
}
