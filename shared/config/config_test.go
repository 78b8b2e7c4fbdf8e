package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/datachat/datachat/shared/config"
)

func TestDefaults(t *testing.T) {
	c, err := config.FromEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 3000 || c.Limits.MaxModelRequests != 10 || c.Limits.MaxTotalTokens != 20000 || c.TurnTimeout != 25*time.Second || c.MaxBodyBytes != 32<<10 || c.MaxMessageChars != 8000 || c.Limits.RowCap != 500 {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestOverridesAndErrors(t *testing.T) {
	env := map[string]string{"PORT": "8080", "MAX_MODEL_REQUESTS": "3", "TURN_TIMEOUT": "5s", "LOG_LEVEL": "debug",
		"WEAVIATE_URL": "https://w.example.com", "WEAVIATE_GRPC_URL": " grpc.example.com:443 "}
	c, err := config.FromEnv(func(k string) string { return env[k] })
	if err != nil || c.Port != 8080 || c.Limits.MaxModelRequests != 3 || c.TurnTimeout != 5*time.Second || c.Weaviate.GRPCURL != "grpc.example.com:443" {
		t.Fatalf("%+v %v", c, err)
	}
	bad := map[string]string{"PORT": "http", "MAX_TOTAL_TOKENS": "-1", "TURN_TIMEOUT": "soon", "LOG_LEVEL": "loud"}
	_, err = config.FromEnv(func(k string) string { return bad[k] })
	if err == nil {
		t.Fatal("malformed values were accepted")
	}
	for name := range bad {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

func TestStreamTurnTimeout(t *testing.T) {
	c, err := config.FromEnv(func(string) string { return "" })
	if err != nil || c.StreamTurnTimeout != 5*time.Minute {
		t.Fatalf("default: %v %v", c.StreamTurnTimeout, err)
	}
	env := map[string]string{"STREAM_TURN_TIMEOUT": "10m"}
	if c, err := config.FromEnv(func(k string) string { return env[k] }); err != nil || c.StreamTurnTimeout != 10*time.Minute {
		t.Fatalf("10m: %v %v", c.StreamTurnTimeout, err)
	}
	env = map[string]string{"STREAM_TURN_TIMEOUT": "1s"}
	if _, err := config.FromEnv(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "STREAM_TURN_TIMEOUT") {
		t.Fatalf("a stream deadline shorter than the save reserve: %v", err)
	}
}
