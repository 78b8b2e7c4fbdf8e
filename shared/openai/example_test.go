package openai_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/openai"
)

// A model for an OpenAI-compatible server, here a local Ollama. The key
// would come from configuration or secrets.Fetch; Ollama ignores it.
func ExampleNew() {
	temp := 0.0
	m, err := openai.New(openai.Options{
		APIKey:          "ollama",
		BaseURL:         "http://localhost:11434/v1/",
		Model:           "qwen2.5:7b",
		Temperature:     &temp,
		MaxOutputTokens: 1024,
		Logger:          slog.Default(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Every call is bounded by its ctx: retries never wait past it.
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	resp, err := m.Complete(ctx, chat.ModelRequest{Messages: []chat.Message{
		{Role: chat.RoleUser, Content: "Say hello."},
	}})
	if err != nil {
		// A *chat.Error: show chat.ErrorMessage(err) to the user, log err.
		fmt.Println(chat.ErrorCode(err), chat.ErrorMessage(err))
		return
	}
	fmt.Println(resp.Message.Content)
}
