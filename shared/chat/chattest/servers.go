package chattest

import (
	"os"
	"testing"
)

// ServerEnv returns the value of name, the address (or path) of a test
// server that `make test` starts with script. When it is missing the test
// is skipped with a message saying how to run it, unless
// DATACHAT_REQUIRE_SERVERS=1 (set by scripts/test.sh), where a missing
// server is a failure rather than a silent skip.
func ServerEnv(tb testing.TB, name, script string) string {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		if os.Getenv("DATACHAT_REQUIRE_SERVERS") == "1" {
			tb.Fatalf("%s is not set but DATACHAT_REQUIRE_SERVERS=1: %s did not run or failed", name, script)
		}
		tb.Skipf("%s is not set: run `make test`, which runs %s", name, script)
	}
	return v
}
