package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

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
	// Both run the same app from the same configuration.
	for _, name := range []string{"ApiFunction", "WorkerFunction"} {
		fn := functions(openTemplate(t))[name]
		vars := samtemplate.Map(samtemplate.Path(fn.Properties, "Environment", "Variables"))
		for v := range read {
			_, set := vars[v]
			switch _, local := localOnly[v]; {
			case local && set:
				t.Errorf("%s sets %s: %s", name, v, localOnly[v])
			case !local && !set:
				t.Errorf("the code reads %s but %s does not set it", v, name)
			}
		}
		for v := range vars {
			if !read[v] {
				t.Errorf("%s sets %s, which the code never reads", name, v)
			}
		}
	}
}

// The queue of queued turns: the worker takes one message at a time and
// reports failures one by one; a message is not delivered again while its
// delivery may still run (visibility at least 6x the worker's timeout); a
// job gets as many deliveries as the worker gives it attempts, then the
// dead-letter queue, whose depth alarms; the worker's role only receives.
func TestQueuedTurnsInTheTemplate(t *testing.T) {
	tmpl := openTemplate(t)
	worker := functions(tmpl)["WorkerFunction"]
	timeout, _ := samtemplate.Path(worker.Properties, "Timeout").(int)
	queue := samtemplate.Map(tmpl.Resources["TurnQueue"].Properties)
	visibility, _ := queue["VisibilityTimeout"].(int)
	if timeout == 0 || visibility < 6*timeout {
		t.Errorf("TurnQueue.VisibilityTimeout %d, want at least 6x the worker's Timeout %d", visibility, timeout)
	}
	if got := samtemplate.Path(queue, "RedrivePolicy", "maxReceiveCount"); got != httpapi.MaxJobAttempts {
		t.Errorf("maxReceiveCount %v, want %d (httpapi.MaxJobAttempts)", got, httpapi.MaxJobAttempts)
	}
	if got := samtemplate.Path(queue, "RedrivePolicy", "deadLetterTargetArn"); !equal(got, map[string]any{"Fn::GetAtt": []any{"TurnDeadLetterQueue", "Arn"}}) {
		t.Errorf("deadLetterTargetArn %v, want TurnDeadLetterQueue", got)
	}
	ev := samtemplate.Map(samtemplate.Path(worker.Properties, "Events", "Turns"))
	props := samtemplate.Map(ev["Properties"])
	if ev["Type"] != "SQS" || props["BatchSize"] != 1 || !equal(props["FunctionResponseTypes"], []any{"ReportBatchItemFailures"}) {
		t.Errorf("worker event %v, want SQS, BatchSize 1, ReportBatchItemFailures", ev)
	}
	alarm := samtemplate.Map(tmpl.Resources["DeadLetterAlarm"].Properties)
	if alarm["Namespace"] != "AWS/SQS" || alarm["MetricName"] != "ApproximateNumberOfMessagesVisible" ||
		!strings.Contains(fmt.Sprint(alarm["Dimensions"]), "TurnDeadLetterQueue") {
		t.Errorf("DeadLetterAlarm %v, want the DLQ's depth", alarm)
	}
	role := fmt.Sprint(tmpl.Resources["WorkerFunctionRole"].Properties)
	for _, never := range []string{"sqs:SendMessage", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"} {
		if strings.Contains(role, never) {
			t.Errorf("WorkerFunctionRole allows %s, which the worker never needs", never)
		}
	}
	if equal(worker.Properties["Role"], functions(tmpl)["ApiFunction"].Properties["Role"]) {
		t.Error("the worker shares the API function's role; it needs its own")
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

// apiEvents returns ApiFunction's Api events by name.
func apiEvents(t *testing.T, tmpl *samtemplate.Template) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for name, ev := range samtemplate.Map(functions(tmpl)["ApiFunction"].Properties["Events"]) {
		e := samtemplate.Map(ev)
		if e["Type"] != "Api" {
			t.Errorf("event %s is of type %v; every route is an Api (REST API) event", name, e["Type"])
			continue
		}
		out[name] = samtemplate.Map(e["Properties"])
	}
	return out
}

func routeKey(p map[string]any) string { return toString(p["Method"]) + " " + toString(p["Path"]) }

func TestTheAPIIsARegionalRESTAPI(t *testing.T) {
	tmpl := openTemplate(t)
	for name, r := range tmpl.Resources {
		if r.Type == "AWS::Serverless::HttpApi" || r.Type == "AWS::ApiGatewayV2::Api" {
			t.Errorf("%s is an HTTP API, which cannot stream; the API is a REST API", name)
		}
	}
	api, ok := tmpl.Resources["Api"]
	if !ok || api.Type != "AWS::Serverless::Api" {
		t.Fatalf("Api is %q, want AWS::Serverless::Api", api.Type)
	}
	// Edge-optimized endpoints idle a stream out after 30 s.
	if got := samtemplate.Path(api.Properties, "EndpointConfiguration", "Type"); got != "REGIONAL" {
		t.Errorf("Api endpoint type %v, want REGIONAL", got)
	}
	if got := api.Properties["StageName"]; got != "Prod" {
		t.Errorf("StageName %v, want Prod (ApiUrl and the alarms name it)", got)
	}
	for name, p := range apiEvents(t, tmpl) {
		if !equal(p["RestApiId"], map[string]any{"Ref": "Api"}) {
			t.Errorf("event %s is not attached to Api", name)
		}
	}
}

func TestStreamedRoutesMatchTheTemplate(t *testing.T) {
	var streamed []string
	for name, p := range apiEvents(t, openTemplate(t)) {
		switch mode := p["ResponseTransferMode"]; mode {
		case "RESPONSE_STREAM":
			streamed = append(streamed, routeKey(p))
		case nil, "BUFFERED":
		default:
			t.Errorf("event %s: ResponseTransferMode %v, want RESPONSE_STREAM or nothing", name, mode)
		}
	}
	slices.Sort(streamed)
	if want := streamedRoutes(); !slices.Equal(streamed, want) {
		t.Fatalf("template.yaml streams %v, but the function answers %v in the streaming shape", streamed, want)
	}
}

// seconds reads a template value as seconds: a number, or a Go duration
// such as "290s".
func seconds(t *testing.T, what string, v any) float64 {
	t.Helper()
	switch x := v.(type) {
	case int:
		return float64(x)
	case float64:
		return x
	case string:
		if d, err := time.ParseDuration(x); err == nil {
			return d.Seconds()
		}
	}
	t.Fatalf("%s = %v (%T), want a number or a duration", what, v, v)
	return 0
}

func TestTimeoutsAgree(t *testing.T) {
	tmpl := openTemplate(t)
	fn := functions(tmpl)["ApiFunction"]
	timeout := tmpl.Globals["Function"].(map[string]any)["Timeout"]
	if own, ok := fn.Properties["Timeout"]; ok {
		timeout = own
	}
	function := seconds(t, "ApiFunction Timeout", timeout)
	vars := samtemplate.Map(samtemplate.Path(fn.Properties, "Environment", "Variables"))
	reserve := seconds(t, "SAVE_RESERVE", vars["SAVE_RESERVE"])
	streamTurn := seconds(t, "STREAM_TURN_TIMEOUT", vars["STREAM_TURN_TIMEOUT"])
	jsonTurn := seconds(t, "TURN_TIMEOUT", vars["TURN_TIMEOUT"])
	// API Gateway's limit for a buffered integration; 15 minutes for a streamed one.
	const buffered, streamedMax = 29.0, 900.0
	found := 0
	for name, p := range apiEvents(t, tmpl) {
		if p["ResponseTransferMode"] != "RESPONSE_STREAM" {
			if ms, ok := p["TimeoutInMillis"]; ok && seconds(t, name+" TimeoutInMillis", ms)/1000 > buffered {
				t.Errorf("%s: a buffered integration times out at %v ms, over API Gateway's %v s", name, ms, buffered)
			}
			continue
		}
		found++
		ms, ok := p["TimeoutInMillis"]
		if !ok {
			t.Errorf("%s streams but keeps the default 29 s integration timeout", name)
			continue
		}
		integration := seconds(t, name+" TimeoutInMillis", ms) / 1000
		if integration > streamedMax {
			t.Errorf("%s: integration timeout %v s, over the 15 minutes a stream may last", name, integration)
		}
		if function < integration {
			t.Errorf("function timeout %v s < %s's integration timeout %v s: the function would end before API Gateway stops waiting", function, name, integration)
		}
		if integration < streamTurn+reserve {
			t.Errorf("%s: integration timeout %v s < STREAM_TURN_TIMEOUT + SAVE_RESERVE (%v s + %v s): the client would lose the end of a turn", name, integration, streamTurn, reserve)
		}
	}
	if found == 0 {
		t.Fatal("no streamed route to check")
	}
	if jsonTurn+reserve > buffered {
		t.Errorf("TURN_TIMEOUT + SAVE_RESERVE = %v s, over API Gateway's %v s for a buffered answer", jsonTurn+reserve, buffered)
	}
	if function > streamedMax {
		t.Errorf("function timeout %v s, over Lambda's 900 s", function)
	}
}

func TestEveryRouteIsDeclaredWithTheAuthorizer(t *testing.T) {
	tmpl := openTemplate(t)
	body := samtemplate.Map(tmpl.Resources["Api"].Properties["DefinitionBody"])
	// One authorizer, whose kind the JwtIssuer parameter picks: the user
	// pool's, or the Lambda authorizer of functions/authorizer.
	def := samtemplate.Map(samtemplate.Path(body, "securityDefinitions", "Authorizer"))
	if def["name"] != "Authorization" || def["in"] != "header" {
		t.Errorf("the authorizer reads %v in %v, want the Authorization header", def["name"], def["in"])
	}
	branches, _ := samtemplate.Map(def["x-amazon-apigateway-authorizer"])["Fn::If"].([]any)
	if len(branches) != 3 || branches[0] != "CreateUserPool" {
		t.Fatalf("x-amazon-apigateway-authorizer = %v, want Fn::If on CreateUserPool", def["x-amazon-apigateway-authorizer"])
	}
	cognito, lambda := samtemplate.Map(branches[1]), samtemplate.Map(branches[2])
	if cognito["type"] != "cognito_user_pools" || !equal(cognito["providerARNs"], []any{map[string]any{"Fn::GetAtt": []any{"UserPool", "Arn"}}}) {
		t.Errorf("with no JwtIssuer the authorizer is %v, want the stack's user pool", cognito)
	}
	if uri := fmtAny(lambda["authorizerUri"]); lambda["type"] != "token" || !strings.Contains(uri, "${AuthorizerFunction.Arn}") {
		t.Errorf("with JwtIssuer the authorizer is %v, want a token authorizer calling AuthorizerFunction", lambda)
	}
	if _, ok := tmpl.Resources["AuthorizerPermission"]; !ok {
		t.Error("API Gateway has no permission to call AuthorizerFunction")
	}
	// Without MergeDefinitions SAM adds no event's integration to an inline
	// DefinitionBody, and every route would answer 500.
	if got := tmpl.Resources["Api"].Properties["MergeDefinitions"]; got != true {
		t.Errorf("Api MergeDefinitions = %v, want true", got)
	}
	if samtemplate.Path(tmpl.Resources["Api"].Properties, "Auth") != nil {
		t.Error("Api also declares SAM Auth; the authorizer lives in DefinitionBody only, so the two cannot disagree")
	}

	declared := map[string]bool{}
	for name, p := range apiEvents(t, tmpl) {
		key := routeKey(p)
		method := samtemplate.Map(samtemplate.Path(body, "paths", toString(p["Path"]), strings.ToLower(toString(p["Method"]))))
		if _, ok := samtemplate.Map(samtemplate.Path(body, "paths", toString(p["Path"])))[strings.ToLower(toString(p["Method"]))]; !ok {
			t.Errorf("event %s (%s) has no method in DefinitionBody, so it would have no authorizer decision", name, key)
		}
		declared[key] = equal(method["security"], []any{map[string]any{"Authorizer": []any{}}})
		if method["x-amazon-apigateway-integration"] != nil {
			t.Errorf("%s: DefinitionBody declares an integration; the Api event adds it", key)
		}
	}
	// The page's routes too: API Gateway spells a path's greedy tail
	// {proxy+} where the handler's pattern says {path...}.
	for _, r := range append(httpapi.Routes(), httpapi.PageRoutes()...) {
		key := r.Method + " " + strings.ReplaceAll(r.Path, "{path...}", "{proxy+}")
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
// shared/dynamo (TransactWriteItems is authorised per item), sending to
// the queue (shared/sqs), what Lambda's SQS event source mapping needs of
// the worker's role (AWSLambdaSQSQueueExecutionRole's three actions) and
// reading the secrets.
var allowedActions = []string{
	"dynamodb:Query", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
	"dynamodb:DeleteItem", "dynamodb:ConditionCheckItem", "dynamodb:BatchWriteItem",
	"sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
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
		if principal := fmtAny(samtemplate.Path(r.Properties, "AssumeRolePolicyDocument", "Statement")); strings.Contains(principal, "apigateway.amazonaws.com") {
			// API Gateway's account-wide logging role: that one policy only.
			if arns := samtemplate.List(r.Properties["ManagedPolicyArns"]); len(arns) != 1 || !strings.Contains(fmtAny(arns[0]), "AmazonAPIGatewayPushToCloudWatchLogs") || r.Properties["Policies"] != nil {
				t.Errorf("%s, API Gateway's role, has %v; it needs AmazonAPIGatewayPushToCloudWatchLogs alone", name, arns)
			}
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
	tmpl := openTemplate(t)
	out := tmpl.Outputs
	for _, k := range []string{"ApiUrl", "UserPoolId", "UserPoolClientId", "ConversationsTableName", "AlarmTopicArn", "DashboardUrl"} {
		if _, ok := out[k]; !ok {
			t.Errorf("template.yaml lacks output %s", k)
		}
	}
	want := fmt.Sprintf("https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/%s/", tmpl.Resources["Api"].Properties["StageName"])
	if got := samtemplate.Path(out["ApiUrl"], "Value", "Fn::Sub"); got != want {
		t.Errorf("ApiUrl = %v, want the stage's URL %s", got, want)
	}
}

// restMetrics are the metrics a REST API publishes (AWS/ApiGateway, by
// ApiName and Stage). An HTTP API's (4xx, 5xx, by ApiId) stay empty.
var restMetrics = []string{"4XXError", "5XXError", "CacheHitCount", "CacheMissCount", "Count", "IntegrationLatency", "Latency"}

func TestAlarmsWatchTheRESTAPI(t *testing.T) {
	tmpl := openTemplate(t)
	api := tmpl.Resources["Api"].Properties
	wantDims := fmtAny([]any{
		map[string]any{"Name": "ApiName", "Value": api["Name"]},
		map[string]any{"Name": "Stage", "Value": api["StageName"]},
	})
	n := 0
	check := func(alarm string, m map[string]any) {
		if m["Namespace"] != "AWS/ApiGateway" {
			return
		}
		n++
		if name := toString(m["MetricName"]); !slices.Contains(restMetrics, name) {
			t.Errorf("%s watches %s, which a REST API does not publish (it has %v)", alarm, name, restMetrics)
		}
		if got := fmtAny(m["Dimensions"]); got != wantDims {
			t.Errorf("%s: dimensions %s, want %s (the Api's Name and stage)", alarm, got, wantDims)
		}
	}
	for name, r := range tmpl.Resources {
		if r.Type != "AWS::CloudWatch::Alarm" {
			continue
		}
		check(name, r.Properties)
		for _, q := range samtemplate.List(r.Properties["Metrics"]) {
			check(name, samtemplate.Map(samtemplate.Path(q, "MetricStat", "Metric")))
		}
	}
	if n == 0 {
		t.Fatal("no alarm watches the API")
	}

	// The dashboard's API widgets, in CloudWatch's shorthand rows:
	// [namespace, metric, dim, value, ..., {options}] where "." repeats the
	// row above.
	body, _ := samtemplate.Path(tmpl.Resources["Dashboard"].Properties, "DashboardBody", "Fn::Sub").(string)
	var dash struct {
		Widgets []struct {
			Properties struct {
				Metrics [][]any `json:"metrics"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(body), &dash); err != nil {
		t.Fatalf("DashboardBody: %v", err)
	}
	seen := 0
	for _, w := range dash.Widgets {
		var prev []any
		for _, row := range w.Properties.Metrics {
			if len(row) > 0 && row[0] == "..." {
				continue // the row above, with other options
			}
			full := slices.Clone(row)
			for i := range full {
				if full[i] == "." && i < len(prev) {
					full[i] = prev[i]
				}
			}
			prev = full
			if len(full) < 2 || full[0] != "AWS/ApiGateway" {
				continue
			}
			seen++
			if name := toString(full[1]); !slices.Contains(restMetrics, name) {
				t.Errorf("the dashboard plots %s, which a REST API does not publish", name)
			}
			if len(full) < 6 || full[2] != "ApiName" || full[3] != "${AWS::StackName}-api" || full[4] != "Stage" || full[5] != api["StageName"] {
				t.Errorf("the dashboard plots %v, want ApiName ${AWS::StackName}-api and Stage %v", full, api["StageName"])
			}
		}
	}
	if seen == 0 {
		t.Error("the dashboard plots nothing of the API")
	}
	if fmtAny(api["Name"]) != fmtAny(map[string]any{"Fn::Sub": "${AWS::StackName}-api"}) {
		t.Errorf("Api Name %v; the dashboard names ${AWS::StackName}-api", api["Name"])
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
