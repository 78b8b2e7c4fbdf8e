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

// response maps the first choice back onto a chat message and the usage.
// Tool call arguments pass through as the model wrote them, even when they
// are not valid JSON: the agent validates them and tells the model what to
// fix, which serves the user better than failing the turn here.
func response(cc *sdk.ChatCompletion) (chat.ModelResponse, *failure) {
	if cc == nil || len(cc.Choices) == 0 {
		return chat.ModelResponse{}, &failure{kind: kindMalformed, retryable: true, detail: "response has no choices"}
	}
	choice := cc.Choices[0]
	msg := chat.Message{Role: chat.RoleAssistant, Content: choice.Message.Content}
	if msg.Content == "" && choice.Message.Refusal != "" {
		// A refusal is the model's answer to the user; show it as such.
		msg.Content = choice.Message.Refusal
	}
	for _, tc := range choice.Message.ToolCalls {
		call := chat.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments}
		if tc.Type == "custom" {
			call.Name, call.Arguments = tc.Custom.Name, tc.Custom.Input
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
