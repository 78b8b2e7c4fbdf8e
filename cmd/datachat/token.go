package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/datachat/datachat/shared/auth"
	"github.com/datachat/datachat/shared/config"
)

// devSecretFile keeps the generated secret between runs, so tokens printed
// by `make token` in another shell verify against the running server.
const devSecretFile = ".datachat/dev-secret"

func token(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	user := fs.String("user", "demo", "user id (the token's sub)")
	ttl := fs.Duration("ttl", 24*time.Hour, "how long the token is valid")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	secret, _, err := devSecret(cfg.AuthJWTSecret)
	if err != nil {
		return err
	}
	tok, err := auth.Issue(secret, *user, *ttl, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

// devSecret returns AUTH_JWT_SECRET when set; otherwise the secret in
// devSecretFile, creating it (random, readable by the owner only) the
// first time. generated reports the second case.
func devSecret(fromEnv string) (secret []byte, generated bool, err error) {
	if fromEnv != "" {
		return []byte(fromEnv), false, nil
	}
	b, err := os.ReadFile(devSecretFile)
	if err == nil {
		return []byte(strings.TrimSpace(string(b))), true, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("read %s: %w", devSecretFile, err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, false, fmt.Errorf("generate a secret: %w", err)
	}
	s := hex.EncodeToString(raw)
	if err := os.MkdirAll(filepath.Dir(devSecretFile), 0o700); err != nil {
		return nil, false, fmt.Errorf("create %s: %w", filepath.Dir(devSecretFile), err)
	}
	if err := os.WriteFile(devSecretFile, []byte(s+"\n"), 0o600); err != nil {
		return nil, false, fmt.Errorf("write %s: %w", devSecretFile, err)
	}
	return []byte(s), true, nil
}
