package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/datachat/datachat/shared/config"
	"github.com/datachat/datachat/shared/sample"
	"github.com/datachat/datachat/shared/weaviate"
)

// seed loads the sample collections into the Weaviate at WEAVIATE_URL:
// explicit schemas, batch import, deterministic ids, so running it twice
// leaves the same objects.
func seed(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if cfg.Weaviate.URL == "" {
		return fmt.Errorf("set WEAVIATE_URL to the Weaviate to load the sample into, such as http://127.0.0.1:8080")
	}
	w, err := weaviate.New(weaviate.Options{URL: cfg.Weaviate.URL, APIKey: cfg.Weaviate.APIKey, Timeout: time.Minute})
	if err != nil {
		return err
	}
	ds, err := sample.Load()
	if err != nil {
		return err
	}
	start := time.Now()
	if err := weaviate.Seed(ctx, w, ds, stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sample data ready in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}
