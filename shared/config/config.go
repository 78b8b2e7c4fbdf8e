// Package config reads the service's settings from the environment. It is
// the only package that does; everything else receives a Config.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/httpapi"
)

// Config is every setting, with defaults filled in.
type Config struct {
	Port          int    // PORT: the local server's port (default 3000)
	AuthJWTSecret string // AUTH_JWT_SECRET: HS256 secret of local tokens

	Limits          chat.Limits   // MAX_MODEL_REQUESTS, MAX_TOTAL_TOKENS, HISTORY_TOKEN_BUDGET, ROW_LIMIT, CHART_POINTS
	TurnTimeout     time.Duration // TURN_TIMEOUT (default 25s)
	SaveReserve     time.Duration // SAVE_RESERVE (default 2s): kept back from the turn to store it
	MaxBodyBytes    int64         // MAX_BODY_BYTES (default 32768)
	MaxMessageChars int           // MAX_MESSAGE_CHARS (default 8000)
	HistoryTurns    int           // HISTORY_TURNS (default 20)
	// UserLimits (USER_DAILY_TOKENS, USER_TURNS_PER_MINUTE; unset or 0 =
	// unlimited) bound each user across all their turns.
	UserLimits chat.UserLimits

	LogLevel slog.Level // LOG_LEVEL: debug, info, warn or error (default info)

	OpenAI OpenAI

	// TableName (TABLE_NAME) selects DynamoDB for conversation memory; the
	// endpoint, region and credentials come from the AWS SDK's standard
	// configuration (AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB, ...).
	TableName string
	// ConversationTTL (CONVERSATION_TTL, default 168h) is how long a
	// conversation is kept after its last turn.
	ConversationTTL time.Duration

	Weaviate Weaviate
}

// Weaviate selects the user's Weaviate as the warehouse; without a URL the
// embedded sample data is served.
type Weaviate struct {
	URL          string        // WEAVIATE_URL: scheme and host, such as http://127.0.0.1:8080
	APIKey       string        // WEAVIATE_API_KEY (local runs)
	KeySecretARN string        // WEAVIATE_API_KEY_SECRET_ARN: Secrets Manager secret holding the key (Lambda)
	Collections  []string      // WEAVIATE_COLLECTIONS: comma-separated allow-list; empty allows all
	Timeout      time.Duration // WEAVIATE_TIMEOUT: bound of each call (default 10s)
}

// OpenAI selects the hosted model. With neither a key nor a secret ARN the
// offline planner answers instead.
type OpenAI struct {
	APIKey          string   // OPENAI_API_KEY (local runs; never set in template.yaml)
	KeySecretARN    string   // OPENAI_API_KEY_SECRET_ARN: Secrets Manager secret holding the key (Lambda)
	BaseURL         string   // OPENAI_BASE_URL: any OpenAI-compatible endpoint
	Model           string   // OPENAI_MODEL (default gpt-4.1-mini)
	Temperature     *float64 // OPENAI_TEMPERATURE (provider default when unset)
	MaxOutputTokens int      // OPENAI_MAX_OUTPUT_TOKENS (default 4096)
}

// Enabled reports whether a hosted model is configured.
func (o OpenAI) Enabled() bool { return o.APIKey != "" || o.KeySecretARN != "" }

// FromEnv reads the configuration through getenv (os.Getenv in mains, a
// map in tests). Every malformed value is reported, each naming its variable.
func FromEnv(getenv func(string) string) (Config, error) {
	p := parser{getenv: getenv}
	d := chat.DefaultLimits()
	c := Config{
		Port:          p.int("PORT", 3000, 1, 65535),
		AuthJWTSecret: getenv("AUTH_JWT_SECRET"),
		Limits: chat.Limits{
			MaxModelRequests: p.int("MAX_MODEL_REQUESTS", d.MaxModelRequests, 1, 100),
			MaxTotalTokens:   p.int("MAX_TOTAL_TOKENS", d.MaxTotalTokens, 100, 10_000_000),
			HistoryTokens:    p.int("HISTORY_TOKEN_BUDGET", d.HistoryTokens, 0, 10_000_000),
			RowCap:           p.int("ROW_LIMIT", d.RowCap, 1, 10_000),
			ChartPoints:      p.int("CHART_POINTS", d.ChartPoints, 1, 100_000),
		},
		TurnTimeout:     p.duration("TURN_TIMEOUT", httpapi.DefaultTurnTimeout),
		SaveReserve:     p.duration("SAVE_RESERVE", httpapi.DefaultSaveReserve),
		MaxBodyBytes:    int64(p.int("MAX_BODY_BYTES", httpapi.DefaultMaxBodyBytes, 256, 10<<20)),
		MaxMessageChars: p.int("MAX_MESSAGE_CHARS", httpapi.DefaultMaxMessageChars, 1, 1_000_000),
		HistoryTurns:    p.int("HISTORY_TURNS", httpapi.DefaultHistoryTurns, 0, 1000),
		UserLimits: chat.UserLimits{
			DailyTokens:    p.int("USER_DAILY_TOKENS", 0, 0, 1_000_000_000),
			TurnsPerMinute: p.int("USER_TURNS_PER_MINUTE", 0, 0, 100_000),
		},
		LogLevel:        p.level("LOG_LEVEL"),
		TableName:       strings.TrimSpace(getenv("TABLE_NAME")),
		ConversationTTL: p.duration("CONVERSATION_TTL", 7*24*time.Hour),
		Weaviate: Weaviate{
			URL:          strings.TrimSpace(getenv("WEAVIATE_URL")),
			APIKey:       strings.TrimSpace(getenv("WEAVIATE_API_KEY")),
			KeySecretARN: strings.TrimSpace(getenv("WEAVIATE_API_KEY_SECRET_ARN")),
			Collections:  list(getenv("WEAVIATE_COLLECTIONS")),
			Timeout:      p.duration("WEAVIATE_TIMEOUT", 10*time.Second),
		},
		OpenAI: OpenAI{
			APIKey:          strings.TrimSpace(getenv("OPENAI_API_KEY")),
			KeySecretARN:    strings.TrimSpace(getenv("OPENAI_API_KEY_SECRET_ARN")),
			BaseURL:         strings.TrimSpace(getenv("OPENAI_BASE_URL")),
			Model:           strings.TrimSpace(getenv("OPENAI_MODEL")),
			Temperature:     p.optionalFloat("OPENAI_TEMPERATURE", 0, 2),
			MaxOutputTokens: p.int("OPENAI_MAX_OUTPUT_TOKENS", 0, 0, 1_000_000),
		},
	}
	if c.SaveReserve >= c.TurnTimeout {
		p.errs = append(p.errs, fmt.Errorf("SAVE_RESERVE=%s must be shorter than TURN_TIMEOUT=%s, or every turn starts past its deadline", c.SaveReserve, c.TurnTimeout))
	}
	if len(p.errs) > 0 {
		return Config{}, errors.Join(p.errs...)
	}
	return c, nil
}

// list splits a comma-separated value, dropping blanks.
func list(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

type parser struct {
	getenv func(string) string
	errs   []error
}

func (p *parser) int(name string, def, lo, hi int) int {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		p.errs = append(p.errs, fmt.Errorf("%s=%q: want a whole number from %d to %d", name, v, lo, hi))
		return def
	}
	return n
}

func (p *parser) optionalFloat(name string, lo, hi float64) *float64 {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < lo || f > hi {
		p.errs = append(p.errs, fmt.Errorf("%s=%q: want a number from %g to %g", name, v, lo, hi))
		return nil
	}
	return &f
}

func (p *parser) duration(name string, def time.Duration) time.Duration {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		p.errs = append(p.errs, fmt.Errorf("%s=%q: want a positive duration such as 25s", name, v))
		return def
	}
	return d
}

func (p *parser) level(name string) slog.Level {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return slog.LevelInfo
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(v)); err != nil {
		p.errs = append(p.errs, fmt.Errorf("%s=%q: want debug, info, warn or error", name, v))
	}
	return l
}
