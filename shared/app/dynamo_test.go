package app_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/datachat/datachat/shared/app"
	"github.com/datachat/datachat/shared/chat/chattest"
	"github.com/datachat/datachat/shared/dynamo"
)

// dynamoEndpoint returns the local DynamoDB-compatible server started by
// `make test` and points the SDK's standard configuration at it.
func dynamoEndpoint(t *testing.T) string {
	t.Helper()
	ep := chattest.ServerEnv(t, "DYNAMODB_TEST_ENDPOINT", "scripts/start-dynalite.sh")
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", ep)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	return ep
}

func createTable(t *testing.T, endpoint string) string {
	t.Helper()
	name := fmt.Sprintf("app-%d", time.Now().UnixNano())
	client := dynamodb.New(dynamodb.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := dynamo.CreateTable(ctx, client, name); err != nil {
		t.Fatal(err)
	}
	return name
}

// A follow-up answered by a fresh process (a new App, as a new Lambda
// instance would be) uses the history the previous one stored.
func TestFollowUpInAFreshProcess(t *testing.T) {
	table := createTable(t, dynamoEndpoint(t))
	env := map[string]string{"TABLE_NAME": table}
	tok := tokenFor(t, "dyn-user")

	first := newApp(t, app.Deps{}, env)
	status, a := ask(t, first.Client(), first.URL, tok, "What was the average closing price of the S&P 500 in 2008?", "")
	if status != 200 || !strings.Contains(a.Answer, "1,220.04") {
		t.Fatalf("first turn: %d %+v", status, a)
	}
	first.Close()

	second := newApp(t, app.Deps{}, env)
	status, f := ask(t, second.Client(), second.URL, tok, "And in 2009?", a.ConversationID)
	if status != 200 || f.Turn != 2 || !strings.Contains(f.Answer, "2009 was 948.05") {
		t.Fatalf("follow-up in a fresh process: %d %+v", status, f)
	}
	var conv struct {
		Turns []struct {
			Question string `json:"question"`
		} `json:"turns"`
	}
	if getJSON(t, second.Client(), second.URL+"/conversations/"+a.ConversationID, tok, &conv); len(conv.Turns) != 2 {
		t.Fatalf("stored turns: %+v", conv)
	}
	if status := getJSON(t, second.Client(), second.URL+"/conversations/"+a.ConversationID, tokenFor(t, "someone-else"), nil); status != 404 {
		t.Fatalf("another user read the conversation: %d", status)
	}
}

// A store that refuses connections: a new question is answered (the model
// already ran) with saved false, and nothing is half-written; a follow-up,
// whose history cannot be read, gives a 503 JSON error.
func TestStoreUnreachableIs503(t *testing.T) {
	dynamoEndpoint(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", closed)
	srv := newApp(t, app.Deps{}, map[string]string{"TABLE_NAME": "unreachable"})
	tok := tokenFor(t, "u503")
	status, a := ask(t, srv.Client(), srv.URL, tok, "What was the average closing price of the S&P 500 in 2008?", "")
	if status != 200 || a.Saved == nil || *a.Saved || !strings.Contains(a.Answer, "1,220.04") {
		t.Fatalf("got %d %+v, want the answer with saved false", status, a)
	}
	status, a = ask(t, srv.Client(), srv.URL, tok, "And in 2009?", "0b9d1c57-5a54-4c43-9d5e-6f9a3c2e1b7d")
	if status != 503 {
		t.Fatalf("history read against an unreachable store: %d %+v", status, a)
	}
}
