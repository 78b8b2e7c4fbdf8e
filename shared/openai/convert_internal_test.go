package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	sdk "github.com/openai/openai-go/v3"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/compute"
)

// searchWarehouse declares nothing but makes the agent declare every tool
// it has, search included; its data is never read here.
type searchWarehouse struct{}

func (searchWarehouse) Schema(context.Context) (chat.Schema, error) { return chat.Schema{}, nil }
func (searchWarehouse) Query(context.Context, chat.Query) (chat.Table, error) {
	return chat.Table{}, nil
}
func (searchWarehouse) Aggregate(context.Context, chat.Aggregation) (chat.Table, error) {
	return chat.Table{}, nil
}
func (searchWarehouse) Search(context.Context, chat.Search) (chat.Table, error) {
	return chat.Table{}, nil
}

// sdkParams is the request as the SDK's params, which the adapter once
// handed the SDK to encode: the reference the body it writes must match.
func (m *Model) sdkParams(req chat.ModelRequest, stream bool) (sdk.ChatCompletionNewParams, error) {
	maxOut := m.maxOutputTokens
	if req.MaxOutputTokens > 0 && req.MaxOutputTokens < maxOut {
		maxOut = req.MaxOutputTokens
	}
	p := sdk.ChatCompletionNewParams{Model: m.model, MaxCompletionTokens: sdk.Int(int64(maxOut))}
	if m.temperature != nil {
		p.Temperature = sdk.Float(*m.temperature)
	}
	for i, msg := range req.Messages {
		mp, err := sdkMessage(msg)
		if err != nil {
			return p, fmt.Errorf("message %d: %w", i, err)
		}
		p.Messages = append(p.Messages, mp)
	}
	for _, s := range req.Tools {
		tool, err := toolParam(s)
		if err != nil {
			return p, err
		}
		p.Tools = append(p.Tools, tool)
	}
	if len(p.Tools) > 0 {
		p.ParallelToolCalls = sdk.Bool(true)
	}
	if stream {
		p.StreamOptions = sdk.ChatCompletionStreamOptionsParam{IncludeUsage: sdk.Bool(true)}
	}
	return p, nil
}

func sdkMessage(msg chat.Message) (sdk.ChatCompletionMessageParamUnion, error) {
	switch msg.Role {
	case chat.RoleSystem:
		return sdk.SystemMessage(msg.Content), nil
	case chat.RoleUser:
		return sdk.UserMessage(msg.Content), nil
	case chat.RoleTool:
		return sdk.ToolMessage(msg.Content, msg.ToolCallID), nil
	case chat.RoleAssistant:
		var a sdk.ChatCompletionAssistantMessageParam
		if msg.Content != "" || len(msg.ToolCalls) == 0 {
			a.Content.OfString = sdk.String(msg.Content)
		}
		for _, c := range msg.ToolCalls {
			a.ToolCalls = append(a.ToolCalls, sdk.ChatCompletionMessageToolCallUnionParam{
				OfFunction: &sdk.ChatCompletionMessageFunctionToolCallParam{
					ID:       c.ID,
					Function: sdk.ChatCompletionMessageFunctionToolCallFunctionParam{Name: c.Name, Arguments: c.Arguments},
				},
			})
		}
		return sdk.ChatCompletionMessageParamUnion{OfAssistant: &a}, nil
	}
	return sdk.ChatCompletionMessageParamUnion{}, fmt.Errorf("unknown role %q", msg.Role)
}

// awkward holds every kind of byte and character the encoder escapes.
const awkward = "quote \" backslash \\ slash / <b>&amp;</b> \b\f\n\r\t \x00\x01\x1f\x7f bad \xff\xfe\xc3 " +
	"line\u2028para\u2029 ünïcödé 数据 🙂 e\u0301"

// TestBodyIsTheSDKs: the body the adapter writes is byte for byte what the
// SDK writes for the same request, for every role and field, with and
// without tools, temperature and streaming; a second request reuses the
// encoded declarations.
func TestBodyIsTheSDKs(t *testing.T) {
	tools := append(slices.Clone(agentTools(t)),
		chat.ToolSpec{Name: "bare", Description: "no parameters"},
		chat.ToolSpec{Name: "odd", Description: awkward,
			Parameters: json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer","maximum":500,"minimum":-1.5e3}},"required":["n"],"additionalProperties":false}`)},
	)
	history := []chat.Message{
		{Role: chat.RoleSystem, Content: "You are a data analyst.\n\nCollections:\n- SP500 (S&P 500): date date"},
		{Role: chat.RoleUser, Content: awkward},
		{Role: chat.RoleAssistant, ToolCalls: []chat.ToolCall{
			{ID: "call_1", Name: "query", Arguments: `{"collection":"SP500","filters":[{"op":"lt","value":"<&>"}]}`},
			{ID: "", Name: "", Arguments: "not json " + awkward},
		}},
		{Role: chat.RoleTool, ToolCallID: "call_1", Content: `{"rows":[["2008-01-02",1447.160034]]}`},
		{Role: chat.RoleTool, ToolCallID: "", Content: ""},
		{Role: chat.RoleAssistant, Content: "Both " + awkward, ToolCalls: []chat.ToolCall{{ID: "c", Name: "chart", Arguments: "{}"}}},
		{Role: chat.RoleAssistant, Content: ""},
		{Role: chat.RoleUser, Content: ""},
		{Role: chat.RoleAssistant, Content: "The average close was 1,378.76."},
	}
	for _, temp := range []*float64{nil, ptr(0), ptr(0.2), ptr(1), ptr(0.1 + 0.2), ptr(1e-7), ptr(1.5e21)} {
		for _, model := range []string{"", "gpt-4.1-mini", "my <deployment> & \"co\""} {
			m, err := New(Options{APIKey: "unused", Model: model, Temperature: temp, MaxOutputTokens: 1000})
			if err != nil {
				t.Fatal(err)
			}
			for _, req := range []chat.ModelRequest{
				{Messages: history, Tools: tools},
				{Messages: history[:2], Tools: tools, MaxOutputTokens: 300},
				{Messages: history[:1], MaxOutputTokens: 5000},
				{Tools: tools[:1]},
				{},
			} {
				for _, stream := range []bool{false, true} {
					for range 2 { // the second time with the encoded declarations
						name := fmt.Sprintf("temp %v, model %q, %d messages, %d tools, stream %v", temp, model, len(req.Messages), len(req.Tools), stream)
						compareBody(t, name, m, req, stream)
					}
				}
			}
		}
	}
}

func compareBody(t *testing.T, name string, m *Model, req chat.ModelRequest, stream bool) {
	t.Helper()
	b, err := m.body(req, stream)
	if err != nil {
		t.Fatalf("%s: body: %v", name, err)
	}
	got := b.bytes()
	if int64(len(got)) != b.size {
		t.Fatalf("%s: size %d, body of %d bytes", name, b.size, len(got))
	}
	if read, err := io.ReadAll(b.open()); err != nil || !bytes.Equal(read, got) {
		t.Fatalf("%s: reading the parts gives %q (%v), want %q", name, read, err, got)
	}
	p, err := m.sdkParams(req, stream)
	if err != nil {
		t.Fatalf("%s: params: %v", name, err)
	}
	want, err := p.MarshalJSON()
	if err != nil {
		t.Fatalf("%s: MarshalJSON: %v", name, err)
	}
	if stream {
		// NewStreaming adds the key as sjson does: last in the object.
		want = append(want[:len(want)-1], `,"stream":true}`...)
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Fatalf("%s: body differs from the SDK's at byte %d:\n got ...%s\nwant ...%s", name, i, clip(got, i), clip(want, i))
	}
	if !json.Valid(got) {
		t.Fatalf("%s: body is not valid JSON", name)
	}
}

func clip(b []byte, i int) []byte {
	lo, hi := max(0, i-40), min(len(b), i+80)
	return b[lo:hi]
}

func ptr(f float64) *float64 { return &f }

// TestBodyUnknownRole: a message of no known role is an error, as it was
// for the SDK's params.
func TestBodyUnknownRole(t *testing.T) {
	m, err := New(Options{APIKey: "unused"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.body(chat.ModelRequest{Messages: []chat.Message{{Role: chat.RoleUser}, {Role: "developer"}}}, false)
	if err == nil || !strings.Contains(err.Error(), `message 1: unknown role "developer"`) {
		t.Fatalf("err = %v, want message 1's unknown role", err)
	}
}

// jsonString is s as encoding/json writes it without HTML escaping, as
// the SDK's encoder (a copy of it) does.
func jsonString(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// TestAppendStringIsEncodingJSONs: strings are escaped exactly as
// encoding/json escapes them without HTML escaping: every byte alone,
// then random strings over the bytes that need care.
func TestAppendStringIsEncodingJSONs(t *testing.T) {
	check := func(s string) {
		t.Helper()
		want := jsonString(s)
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
		}
	}
	for c := range 256 {
		check(string([]byte{byte(c)}))
		check("a" + string([]byte{byte(c)}) + "z")
	}
	pieces := []string{"a", "Z", " ", "\"", "\\", "<", ">", "&", "\n", "\x00", "\x1f", "\x7f", "\xff", "\xc3", "\xe2\x80", "é", "\u2028", "\u2029", "🙂", "\U0010ffff", "\xed\xa0\x80"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		var b strings.Builder
		for range r.IntN(12) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		check(b.String())
	}
}

// FuzzAppendString: go test -fuzz AppendString ./shared/openai/
func FuzzAppendString(f *testing.F) {
	f.Add(awkward)
	f.Fuzz(func(t *testing.T, s string) {
		want := jsonString(s)
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
		}
	})
}

func agentTools(t *testing.T) []chat.ToolSpec {
	t.Helper()
	m, err := New(Options{APIKey: "unused"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := chat.NewAgent(m, searchWarehouse{}, chat.DefaultLimits(), chat.WithComputer(compute.New()))
	if err != nil {
		t.Fatal(err)
	}
	return a.Tools()
}

// TestRequestIsTheSDKs: what the adapter sends, headers and body, is what
// the SDK's Chat.Completions.New and NewStreaming send for the same params.
func TestRequestIsTheSDKs(t *testing.T) {
	type request struct {
		method, path string
		header       http.Header
		length       int64
		encoding     []string
		body         []byte
	}
	var (
		mu   sync.Mutex
		seen []request
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, request{r.Method, r.URL.Path, r.Header.Clone(), r.ContentLength, r.TransferEncoding, b})
		mu.Unlock()
		if bytes.Contains(b, []byte(`"stream":true`)) {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}`)
	}))
	defer srv.Close()
	m, err := New(Options{APIKey: "sk-test", BaseURL: srv.URL + "/v1/", Temperature: ptr(0.2)})
	if err != nil {
		t.Fatal(err)
	}
	req := chat.ModelRequest{Messages: []chat.Message{{Role: chat.RoleSystem, Content: "s"}, {Role: chat.RoleUser, Content: awkward}}, Tools: agentTools(t)}
	ctx := context.Background()
	for _, stream := range []bool{false, true} {
		p, err := m.sdkParams(req, stream)
		if err != nil {
			t.Fatal(err)
		}
		body, err := m.body(req, stream)
		if err != nil {
			t.Fatal(err)
		}
		seen = nil
		if stream {
			s := m.client.Chat.Completions.NewStreaming(ctx, p)
			for s.Next() {
			}
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
			s.Close()
			if _, f := m.attemptStream(ctx, body, func(string) {}); f != nil {
				t.Fatal(f.detail)
			}
		} else {
			if _, err := m.client.Chat.Completions.New(ctx, p); err != nil {
				t.Fatal(err)
			}
			if _, f := m.attempt(ctx, body); f != nil {
				t.Fatal(f.detail)
			}
		}
		if len(seen) != 2 {
			t.Fatalf("stream %v: server saw %d requests, want 2", stream, len(seen))
		}
		sdkReq, ours := seen[0], seen[1]
		if sdkReq.method != ours.method || sdkReq.path != ours.path {
			t.Errorf("stream %v: %s %s, want the SDK's %s %s", stream, ours.method, ours.path, sdkReq.method, sdkReq.path)
		}
		if ours.length != sdkReq.length || ours.length != int64(len(ours.body)) || !reflect.DeepEqual(ours.encoding, sdkReq.encoding) {
			t.Errorf("stream %v: Content-Length %d, Transfer-Encoding %q; want the SDK's %d, %q", stream, ours.length, ours.encoding, sdkReq.length, sdkReq.encoding)
		}
		if !reflect.DeepEqual(sdkReq.header, ours.header) {
			t.Errorf("stream %v: headers\n%v\nwant the SDK's\n%v", stream, ours.header, sdkReq.header)
		}
		if !bytes.Equal(sdkReq.body, ours.body) {
			t.Errorf("stream %v: body\n%s\nwant the SDK's\n%s", stream, ours.body, sdkReq.body)
		}
	}
}
