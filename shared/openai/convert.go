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

// params maps a chat request onto the SDK's: one message param per message,
// one strict function tool per tool spec.
func (m *Model) params(req chat.ModelRequest) (sdk.ChatCompletionNewParams, error) {
	// The turn's remaining token budget bounds the completion too, so a
	// turn cannot overshoot its limit by a whole completion.
	maxOut := m.maxOutputTokens
	if req.MaxOutputTokens > 0 && req.MaxOutputTokens < maxOut {
		maxOut = req.MaxOutputTokens
	}
	p := sdk.ChatCompletionNewParams{
		Model:               m.model,
		MaxCompletionTokens: sdk.Int(int64(maxOut)),
	}
	if m.temperature != nil {
		p.Temperature = sdk.Float(*m.temperature)
	}
	for i, msg := range req.Messages {
		mp, err := messageParam(msg)
		if err != nil {
			return p, fmt.Errorf("message %d: %w", i, err)
		}
		p.Messages = append(p.Messages, mp)
	}
	tools, err := m.tools.convert(req.Tools)
	if err != nil {
		return p, err
	}
	p.Tools = tools
	if len(p.Tools) > 0 {
		// Sent only with tools: OpenAI rejects it in a request without them.
		// Independent reads in one response save whole model round trips;
		// the agent validates every call's arguments either way.
		p.ParallelToolCalls = sdk.Bool(true)
	}
	return p, nil
}

// toolCache keeps the SDK form of the tool declarations. The agent sends
// the same declarations (the same slice) with every request, and decoding
// their JSON Schemas into the SDK's maps was about a third of the
// adapter's CPU per request; so they are converted once per slice.
type toolCache struct {
	mu    sync.Mutex
	key   *chat.ToolSpec // first element of the converted slice
	n     int
	tools []sdk.ChatCompletionToolUnionParam
}

func (c *toolCache) convert(specs []chat.ToolSpec) ([]sdk.ChatCompletionToolUnionParam, error) {
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
	tools := make([]sdk.ChatCompletionToolUnionParam, 0, len(specs))
	for _, t := range specs {
		schema, err := parameters(t.Parameters)
		if err != nil {
			return nil, fmt.Errorf("tool %s: %w", t.Name, err)
		}
		tools = append(tools, sdk.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name:        t.Name,
			Description: sdk.String(t.Description),
			Parameters:  schema,
			// The tool schemas are written in strict form (every property
			// required, optional ones nullable, no additional properties),
			// so the provider can guarantee arguments that match them.
			Strict: sdk.Bool(true),
		}))
	}
	// The converted declarations are only read after this (the SDK
	// encodes them), so every request may share them.
	c.mu.Lock()
	c.key, c.n, c.tools = &specs[0], len(specs), tools
	c.mu.Unlock()
	return tools, nil
}

func messageParam(msg chat.Message) (sdk.ChatCompletionMessageParamUnion, error) {
	switch msg.Role {
	case chat.RoleSystem:
		return sdk.SystemMessage(msg.Content), nil
	case chat.RoleUser:
		return sdk.UserMessage(msg.Content), nil
	case chat.RoleTool:
		return sdk.ToolMessage(msg.Content, msg.ToolCallID), nil
	case chat.RoleAssistant:
		var a sdk.ChatCompletionAssistantMessageParam
		// An assistant message that only calls tools has no content; the
		// API wants the field absent then, not an empty string.
		if msg.Content != "" || len(msg.ToolCalls) == 0 {
			a.Content.OfString = sdk.String(msg.Content)
		}
		for _, c := range msg.ToolCalls {
			a.ToolCalls = append(a.ToolCalls, sdk.ChatCompletionMessageToolCallUnionParam{
				OfFunction: &sdk.ChatCompletionMessageFunctionToolCallParam{
					ID: c.ID,
					Function: sdk.ChatCompletionMessageFunctionToolCallFunctionParam{
						Name:      c.Name,
						Arguments: c.Arguments,
					},
				},
			})
		}
		return sdk.ChatCompletionMessageParamUnion{OfAssistant: &a}, nil
	}
	return sdk.ChatCompletionMessageParamUnion{}, fmt.Errorf("unknown role %q", msg.Role)
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
