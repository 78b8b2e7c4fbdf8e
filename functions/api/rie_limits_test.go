package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/chat/chattest"
	"github.com/datachat/datachat/shared/dynamo"
)

// These tests run the built function under the emulator with data too big
// for one Lambda response, and check that every answer fits. The emulator
// enforces the limit as Lambda does: a payload over it never reaches the
// caller (the emulator answers 502 Function.ResponseSizeTooLarge, which
// invoke reports, and the runtime exits on the 413 it is given), so an
// answer read here is one Lambda would have sent.

// lambdaPayloadLimit is Lambda's response payload limit, 6 MB as AWS counts
// it (the emulator allows 100 bytes more).
const lambdaPayloadLimit = 6 << 20

// dynamoForFunction creates a conversations table of its own on the
// dynalite that scripts/test.sh starts. It returns a store on it, for the
// test to write turns as the function would, and the variables that point
// the function at it through the SDK's standard configuration.
func dynamoForFunction(t *testing.T) (*dynamo.Store, []string) {
	t.Helper()
	ep := chattest.ServerEnv(t, "DYNAMODB_TEST_ENDPOINT", "scripts/start-dynalite.sh")
	client := dynamodb.New(dynamodb.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(ep),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "limits-" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := dynamo.CreateTable(ctx, client, name); err != nil {
		t.Fatalf("create table %s on %s: %v", name, ep, err)
	}
	t.Cleanup(func() {
		_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	store, err := dynamo.New(client, dynamo.Options{Table: name})
	if err != nil {
		t.Fatal(err)
	}
	return store, []string{
		"TABLE_NAME=" + name, "AWS_ENDPOINT_URL_DYNAMODB=" + ep, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
	}
}

// conversationEvent is GET /conversations/{id} for user as API Gateway
// sends it (the REST v1 event of events/), from the given cursor.
func conversationEvent(t *testing.T, user, id, cursor string) []byte {
	t.Helper()
	var ev eventV1
	if err := json.Unmarshal(readEvent(t, "conversation-other-user.json"), &ev); err != nil {
		t.Fatal(err)
	}
	ev.Path = "/conversations/" + id
	ev.RequestContext.Path = "/Prod/conversations/" + id
	ev.PathParameters = map[string]string{"id": id}
	ev.RequestContext.Authorizer["claims"].(map[string]any)["sub"] = user
	if cursor != "" {
		ev.QueryStringParameters = map[string]string{"cursor": cursor}
		ev.MultiValueQueryStringParameters = map[string][]string{"cursor": {cursor}}
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestConversationPagesUnderTheLambdaRuntimeEmulator reads back a
// conversation too big for one response: 16 turns with tables of 500 rows
// of about 1 KB, each stored as big as a DynamoDB item allows. Before
// turns were paged and tables byte-capped, GET /conversations/{id} put
// them all in one body of about 6.5 MB, which the emulator refused. Now
// every page is a 200 within the page budget, next_cursor leads on, and
// the pages together hold every turn once, oldest first, each table
// marked truncated with its total kept.
func TestConversationPagesUnderTheLambdaRuntimeEmulator(t *testing.T) {
	store, env := dynamoForFunction(t)
	const user, conv, turns, rows = "alice", "c2a0f7e4-big-conversation", 16, 500
	wide := strings.Repeat("w", 1000)
	ctx := context.Background()
	storedBytes := 0
	for i := range turns {
		tbl := &chat.Table{Columns: []chat.Column{{Name: "k", Type: chat.TypeText}, {Name: "v", Type: chat.TypeText}}, TotalRows: rows}
		for j := range rows {
			tbl.Rows = append(tbl.Rows, []any{fmt.Sprintf("%d-%d", i, j), wide})
		}
		stored, err := store.Append(ctx, chat.Turn{UserID: user, ConversationID: conv, Seq: i + 1,
			Question: fmt.Sprintf("q%d", i+1), Answer: "a", FinishReason: chat.FinishStop, Table: tbl})
		if err != nil {
			t.Fatalf("append turn %d: %v", i+1, err)
		}
		b, err := json.Marshal(stored.Table)
		if err != nil {
			t.Fatal(err)
		}
		storedBytes += len(b)
	}
	// The case is only a test of the limit if the stored tables alone
	// would not fit in one response.
	if storedBytes <= lambdaPayloadLimit {
		t.Fatalf("the stored tables add up to %d bytes; the case needs more than Lambda's %d", storedBytes, lambdaPayloadLimit)
	}

	em := startEmulator(t, rieBinary(t), buildBootstrap(t), env...)
	var seen []string
	largestPayload, largestBody, pages, cursor := 0, 0, 0, ""
	for {
		pages++
		got, payload := em.invokeSized(t, conversationEvent(t, user, conv, cursor))
		if got.status != 200 {
			t.Fatalf("page %d: got %d (%d-byte payload) %.300s\nlogs:\n%s", pages, got.status, payload, got.body, em.logs)
		}
		largestPayload, largestBody = max(largestPayload, payload), max(largestBody, len(got.body))
		// The page budget counts the turns; the envelope around them (id,
		// cursor, brackets) is a few hundred bytes.
		if len(got.body) > chat.MaxPageBytes+4<<10 || payload > lambdaPayloadLimit {
			t.Fatalf("page %d: body %d bytes, payload %d; want the body within the %d-byte page budget and the payload within %d",
				pages, len(got.body), payload, chat.MaxPageBytes, lambdaPayloadLimit)
		}
		var page struct {
			Turns []struct {
				Question string `json:"question"`
				Table    struct {
					Rows      [][]any `json:"rows"`
					TotalRows int     `json:"total_rows"`
					Truncated bool    `json:"truncated"`
				} `json:"table"`
			} `json:"turns"`
			NextCursor string `json:"next_cursor"`
		}
		if err := json.Unmarshal([]byte(got.body), &page); err != nil {
			t.Fatalf("page %d: %v in %.300s", pages, err, got.body)
		}
		if len(page.Turns) == 0 {
			t.Fatalf("page %d holds no turn: %.300s", pages, got.body)
		}
		for _, tr := range page.Turns {
			seen = append(seen, tr.Question)
			if !tr.Table.Truncated || tr.Table.TotalRows != rows || len(tr.Table.Rows) == 0 || len(tr.Table.Rows) >= rows {
				t.Errorf("page %d, %s: table of %d rows, truncated=%v, total_rows=%d; want a truncated table with total_rows %d",
					pages, tr.Question, len(tr.Table.Rows), tr.Table.Truncated, tr.Table.TotalRows, rows)
			}
		}
		if page.NextCursor == "" {
			break
		}
		if pages > turns {
			t.Fatalf("%d pages for %d turns: the cursors do not advance (last %q)", pages, turns, page.NextCursor)
		}
		cursor = page.NextCursor
	}
	var want []string
	for i := range turns {
		want = append(want, fmt.Sprintf("q%d", i+1))
	}
	if !reflect.DeepEqual(seen, want) {
		t.Fatalf("the pages gave %v, want every turn once, oldest first: %v", seen, want)
	}
	if pages < 2 {
		t.Fatalf("%d stored bytes came back in one page", storedBytes)
	}
	t.Logf("%d turns, %d bytes of stored tables: %d pages, largest body %d bytes, largest payload %d bytes",
		turns, storedBytes, pages, largestBody, largestPayload)
}

// wideTableModel plays a model that builds a table of 500 rows of about
// 14 KB from the embedded S&P 500 data: it queries 500 days, then widens
// them with the compute tool's join on date (each step adds every other
// column of the joined table), and answers once the tools have run. The
// rows are wide only through the tools a real model has.
func wideTableModel() *chattest.ScriptedModel {
	// join is a compute call on table with one join step per table of with.
	join := func(table string, with ...string) string {
		var s []map[string]any
		for _, other := range with {
			s = append(s, map[string]any{"op": "join", "table": other, "key": "date", "column": nil, "other": nil, "as": nil,
				"group_by": nil, "window": nil, "bucket": nil, "agg": nil, "date": nil, "desc": nil, "n": nil})
		}
		b, _ := json.Marshal(map[string]any{"table": table, "steps": s})
		return string(b)
	}
	eight := func(id string) []string { return []string{id, id, id, id, id, id, id, id} }
	return &chattest.ScriptedModel{Reply: func(_ context.Context, req chat.ModelRequest, _ int) (chat.ModelResponse, error) {
		if req.Messages[len(req.Messages)-1].Role == chat.RoleTool {
			return chattest.Answer("The table holds the days asked for.", 100), nil
		}
		// t1: the 9 columns of 500 days; t2: t1 joined with itself 8 times;
		// t3: t2 joined with itself 8 times; t4: t3 joined with itself and
		// with t2, rows of about 14 KB, the turn's table.
		return chattest.Calls(100,
			chat.ToolCall{ID: "call_q", Name: chat.ToolQuery, Arguments: `{"collection":"SP500","fields":null,"filters":null,"sort":null,"limit":500}`},
			chat.ToolCall{ID: "call_c1", Name: chat.ToolCompute, Arguments: join("t1", eight("t1")...)},
			chat.ToolCall{ID: "call_c2", Name: chat.ToolCompute, Arguments: join("t2", eight("t2")...)},
			chat.ToolCall{ID: "call_c3", Name: chat.ToolCompute, Arguments: join("t3", "t3", "t2")},
		), nil
	}}
}

// TestHugeTableUnderTheLambdaRuntimeEmulator asks POST /chat a question
// whose turn holds a table of 500 rows of about 14 KB. Without the byte
// cap on tables the answer would carry all 500 rows (the row limit allows
// them), about 7 MB, over Lambda's limit. Now the answer is a 200 within
// the limit whose table is marked truncated with total_rows kept, and it
// is the turn as stored: GET /conversations/{id} gives the same turn back.
// The in-process memory stores the whole table and DynamoDB stores it cut
// to fit an item; the answer and the read agree either way.
func TestHugeTableUnderTheLambdaRuntimeEmulator(t *testing.T) {
	rie, bootstrap := rieBinary(t), buildBootstrap(t)
	fake := chattest.NewCompletionServer(t, wideTableModel(), chattest.Pace{})
	// The model sees 30 rows of each table; of rows this wide that is
	// hundreds of thousands of tokens, far over the default turn budget,
	// which would end the turn before the model answers.
	base := []string{"OPENAI_API_KEY=test", "OPENAI_BASE_URL=" + fake.URL, "MAX_TOTAL_TOKENS=10000000"}
	cases := []struct {
		name string
		env  func(t *testing.T) []string
	}{
		{"embedded memory", func(*testing.T) []string { return nil }},
		{"DynamoDB", func(t *testing.T) []string { _, env := dynamoForFunction(t); return env }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			em := startEmulator(t, rie, bootstrap, append(base, tc.env(t)...)...)
			got, payload := em.invokeSized(t, readEvent(t, "chat.json"))
			if got.status != 200 || !got.streamed {
				t.Fatalf("chat: got streamed=%v %d (%d-byte payload) %.300s\nlogs:\n%s", got.streamed, got.status, payload, got.body, em.logs)
			}
			if payload > lambdaPayloadLimit {
				t.Fatalf("chat: the payload is %d bytes, over Lambda's %d", payload, lambdaPayloadLimit)
			}
			var answer map[string]any
			if err := json.Unmarshal([]byte(got.body), &answer); err != nil {
				t.Fatalf("chat: %v in %.300s", err, got.body)
			}
			if answer["finish_reason"] != "stop" || answer["saved"] != true {
				t.Fatalf("chat: finish_reason %v, saved %v; want a whole answer, saved: %.300s", answer["finish_reason"], answer["saved"], got.body)
			}
			tbl, _ := answer["table"].(map[string]any)
			tableJSON, _ := json.Marshal(tbl)
			rowsJSON, _ := json.Marshal(tbl["rows"])
			kept, _ := tbl["rows"].([]any)
			total, _ := tbl["total_rows"].(float64)
			if tbl["truncated"] != true || total != 500 || len(kept) == 0 || len(kept) >= 500 {
				t.Fatalf("chat: table of %d rows, truncated=%v, total_rows=%v; want some of the 500 rows, truncated, total_rows 500",
					len(kept), tbl["truncated"], tbl["total_rows"])
			}
			if len(tableJSON) > chat.MaxTableBytes {
				t.Errorf("chat: the table is %d bytes, over its %d-byte cap", len(tableJSON), chat.MaxTableBytes)
			}
			// The rows kept are rows of the full table, so their size shows
			// what the whole table would have weighed.
			perRow := len(rowsJSON) / len(kept)
			if whole := perRow * int(total); whole <= lambdaPayloadLimit {
				t.Fatalf("rows of %d bytes: the whole table (%d bytes) would have fit anyway; the case needs rows of about 14 KB", perRow, whole)
			}

			id, _ := answer["conversation_id"].(string)
			read := em.invoke(t, conversationEvent(t, "alice", id, ""))
			if read.status != 200 {
				t.Fatalf("read back %s: %d %.300s", id, read.status, read.body)
			}
			var conv struct {
				Turns []map[string]any `json:"turns"`
			}
			if err := json.Unmarshal([]byte(read.body), &conv); err != nil {
				t.Fatalf("read back %s: %v in %.300s", id, err, read.body)
			}
			// The answer is the stored turn plus the conversation's id and
			// whether it was saved.
			delete(answer, "conversation_id")
			delete(answer, "saved")
			if len(conv.Turns) != 1 || !reflect.DeepEqual(conv.Turns[0], answer) {
				b, _ := json.Marshal(conv.Turns)
				t.Fatalf("the answer is not the turn as stored:\nanswer %.600s\nstored %.600s", got.body, b)
			}
			t.Logf("rows of about %d bytes (the whole table about %d bytes): answered %d of %d rows, table %d bytes, body %d bytes, payload %d bytes",
				perRow, perRow*int(total), len(kept), int(total), len(tableJSON), len(got.body), payload)
		})
	}
}
