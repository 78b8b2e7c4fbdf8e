package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"

	"github.com/datachat/datachat/shared/chat"
)

// toolCache keeps the tool declarations as the JSON array every request
// sends. The agent sends the same declarations (the same slice) with every
// request; decoding their JSON Schemas into the SDK's maps, then encoding
// those by reflection with sorted keys, was most of the adapter's CPU per
// request, and the declarations are three quarters of a request's body.
// So they are encoded once per slice, by the SDK, and every request
// shares the bytes.
type toolCache struct {
	mu    sync.Mutex
	key   *chat.ToolSpec // first element of the encoded slice
	n     int
	tools []byte
}

func (c *toolCache) convert(specs []chat.ToolSpec) ([]byte, error) {
	if len(specs) == 0 {
		return nil, nil
	}
	c.mu.Lock()
	if c.key == &specs[0] && c.n == len(specs) {
		tools := c.tools
		c.mu.Unlock()
		return tools, nil
	}
	c.mu.Unlock()
	tools, err := encodeTools(specs)
	if err != nil {
		return nil, err
	}
	// The bytes are only read after this, so every request may share them.
	c.mu.Lock()
	c.key, c.n, c.tools = &specs[0], len(specs), tools
	c.mu.Unlock()
	return tools, nil
}

// encodeTools is the JSON array of the SDK's declarations of specs, as
// the SDK writes it in a request.
func encodeTools(specs []chat.ToolSpec) ([]byte, error) {
	b := []byte{'['}
	for i, t := range specs {
		tool, err := toolParam(t)
		if err != nil {
			return nil, err
		}
		raw, err := tool.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("tool %s: %w", t.Name, err)
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, raw...)
	}
	return append(b, ']'), nil
}

// toolParam is the SDK's declaration of one tool.
func toolParam(t chat.ToolSpec) (sdk.ChatCompletionToolUnionParam, error) {
	schema, err := parameters(t.Parameters)
	if err != nil {
		return sdk.ChatCompletionToolUnionParam{}, fmt.Errorf("tool %s: %w", t.Name, err)
	}
	return sdk.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
		Name:        t.Name,
		Description: sdk.String(t.Description),
		Parameters:  schema,
		// The tool schemas are written in strict form (every property
		// required, optional ones nullable, no additional properties),
		// so the provider can guarantee arguments that match them.
		Strict: sdk.Bool(true),
	}), nil
}

// emptySchema stands in for a tool without parameters: strict mode needs
// an object schema even then.
const emptySchema = `{"type":"object","properties":{},"required":[],"additionalProperties":false}`

// parameters decodes a tool's JSON Schema into the SDK's map form. Numbers
// become float64, not json.Number: the SDK's encoder writes a json.Number
// as a string ("maximum":"500"), which is not a valid schema.
func parameters(raw json.RawMessage) (shared.FunctionParameters, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = json.RawMessage(emptySchema)
	}
	var schema map[string]any
	if err := json.Unmarshal(raw, &schema); err != nil {
		return nil, fmt.Errorf("parameters are not a JSON object: %w", err)
	}
	return schema, nil
}

// completion is the part of a Chat Completions response the adapter
// reads, decoded with encoding/json: the SDK's own decoder (reflection
// over every field of ChatCompletion, with a map of raw fields per
// object) was a tenth of a turn's CPU, and its recursion grew the stack
// of every turn's goroutine after each wait on the model. Strings and
// numbers are lenient, as the SDK's are: a value of another JSON type
// reads as empty or zero rather than failing the response.
type completion struct {
	Choices []completionChoice `json:"choices"`
	Usage   struct {
		PromptTokens        looseInt `json:"prompt_tokens"`
		CompletionTokens    looseInt `json:"completion_tokens"`
		TotalTokens         looseInt `json:"total_tokens"`
		PromptTokensDetails struct {
			CachedTokens looseInt `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
	} `json:"usage"`
}

type completionChoice struct {
	FinishReason looseString `json:"finish_reason"`
	Message      struct {
		Content   looseString          `json:"content"`
		Refusal   looseString          `json:"refusal"`
		ToolCalls []completionToolCall `json:"tool_calls"`
	} `json:"message"`
}

type completionToolCall struct {
	ID       looseString `json:"id"`
	Type     looseString `json:"type"`
	Function struct {
		Name      looseString `json:"name"`
		Arguments looseString `json:"arguments"`
	} `json:"function"`
	Custom struct {
		Name  looseString `json:"name"`
		Input looseString `json:"input"`
	} `json:"custom"`
}

// looseString is a JSON string, or "" for any other value.
type looseString string

func (s *looseString) UnmarshalJSON(b []byte) error {
	var v string
	if len(b) > 0 && b[0] == '"' && json.Unmarshal(b, &v) == nil {
		*s = looseString(v)
	}
	return nil
}

// looseInt is a JSON number (a fraction is dropped), or 0 for any other value.
type looseInt int

func (n *looseInt) UnmarshalJSON(b []byte) error {
	var v float64
	if json.Unmarshal(b, &v) == nil {
		*n = looseInt(v)
	}
	return nil
}

// fromAccumulated is a streamed completion, as the SDK's accumulator
// joined its chunks, in the shape response reads.
func fromAccumulated(cc *sdk.ChatCompletion) *completion {
	c := &completion{}
	for _, ch := range cc.Choices {
		var got completionChoice
		got.FinishReason = looseString(ch.FinishReason)
		got.Message.Content, got.Message.Refusal = looseString(ch.Message.Content), looseString(ch.Message.Refusal)
		for _, tc := range ch.Message.ToolCalls {
			var t completionToolCall
			t.ID, t.Type = looseString(tc.ID), looseString(tc.Type)
			t.Function.Name, t.Function.Arguments = looseString(tc.Function.Name), looseString(tc.Function.Arguments)
			t.Custom.Name, t.Custom.Input = looseString(tc.Custom.Name), looseString(tc.Custom.Input)
			got.Message.ToolCalls = append(got.Message.ToolCalls, t)
		}
		c.Choices = append(c.Choices, got)
	}
	u := cc.Usage
	c.Usage.PromptTokens, c.Usage.CompletionTokens, c.Usage.TotalTokens = looseInt(u.PromptTokens), looseInt(u.CompletionTokens), looseInt(u.TotalTokens)
	c.Usage.PromptTokensDetails.CachedTokens = looseInt(u.PromptTokensDetails.CachedTokens)
	return c
}

// response maps the first choice back onto a chat message and the usage.
// Tool call arguments pass through as the model wrote them, even when they
// are not valid JSON: the agent validates them and tells the model what to
// fix, which serves the user better than failing the turn here.
func response(cc *completion) (chat.ModelResponse, *failure) {
	if cc == nil || len(cc.Choices) == 0 {
		return chat.ModelResponse{}, &failure{kind: kindMalformed, retryable: true, detail: "response has no choices"}
	}
	choice := cc.Choices[0]
	msg := chat.Message{Role: chat.RoleAssistant, Content: string(choice.Message.Content)}
	if msg.Content == "" && choice.Message.Refusal != "" {
		// A refusal is the model's answer to the user; show it as such.
		msg.Content = string(choice.Message.Refusal)
	}
	for _, tc := range choice.Message.ToolCalls {
		call := chat.ToolCall{ID: string(tc.ID), Name: string(tc.Function.Name), Arguments: string(tc.Function.Arguments)}
		if tc.Type == "custom" {
			call.Name, call.Arguments = string(tc.Custom.Name), string(tc.Custom.Input)
		}
		msg.ToolCalls = append(msg.ToolCalls, call)
	}
	if msg.Content == "" && len(msg.ToolCalls) == 0 {
		switch choice.FinishReason {
		case "length":
			return chat.ModelResponse{}, &failure{kind: kindLength, detail: "finish_reason length with no content and no tool calls"}
		case "content_filter":
			return chat.ModelResponse{}, &failure{kind: kindFiltered, detail: "finish_reason content_filter with no content"}
		}
		return chat.ModelResponse{}, &failure{kind: kindEmpty, detail: fmt.Sprintf("finish_reason %q with no content and no tool calls", choice.FinishReason)}
	}
	u := cc.Usage
	usage := chat.Usage{
		InputTokens:  int(u.PromptTokens),
		OutputTokens: int(u.CompletionTokens),
		TotalTokens:  int(u.TotalTokens),
		CachedTokens: int(u.PromptTokensDetails.CachedTokens),
	}
	if usage.TotalTokens == 0 {
		// Some compatible servers report the parts but not the sum.
		usage.TotalTokens = usage.InputTokens + usage.OutputTokens
	}
	// ModelRequests stays 0: the agent counts requests, one per Complete
	// however many attempts it took.
	return chat.ModelResponse{Message: msg, Usage: usage, Truncated: choice.FinishReason == "length"}, nil
}
