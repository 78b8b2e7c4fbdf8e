// Package weaviate is the chat.Warehouse on a Weaviate cluster, through the
// official Go client (weaviate-go-client v4) and its GraphQL API.
//
// Every name a caller sends is checked against the discovered schema before
// anything reaches Weaviate, filter values travel through the client's typed
// filter builders (never formatted into a query by hand), and every failure
// leaves as a *chat.Error: CodeInvalid for a bad request, CodeUnavailable when
// Weaviate cannot answer, CodeDeadline when the caller's time ran out.
//
// This package is the one place to change when queries move from GraphQL to
// the gRPC API (Weaviate Cloud is retiring GraphQL queries).
package weaviate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	wv "github.com/weaviate/weaviate-go-client/v4/weaviate"
	"github.com/weaviate/weaviate-go-client/v4/weaviate/auth"
	"github.com/weaviate/weaviate-go-client/v4/weaviate/fault"
	"github.com/weaviate/weaviate/entities/models"

	"github.com/datachat/datachat/shared/chat"
)

// Defaults of Options.
const (
	DefaultTimeout   = 10 * time.Second
	DefaultRowCap    = 500
	DefaultSchemaTTL = 5 * time.Minute
	DefaultMaxGroups = 10000
)

// Options configure a Warehouse. Only URL is required.
type Options struct {
	// URL is the scheme and host of the Weaviate REST endpoint, such as
	// "http://127.0.0.1:8080" or "https://my-cluster.weaviate.cloud".
	URL string
	// APIKey, when set, is sent as a bearer token on every request.
	APIKey string
	// Timeout bounds each call to Weaviate, so a slow cluster can never
	// hold a turn past its deadline. Default DefaultTimeout.
	Timeout time.Duration
	// RowCap bounds the rows of any one table. Default DefaultRowCap.
	RowCap int
	// Collections is the allow-list of collections the agent may see;
	// empty means every collection.
	Collections []string
	// SchemaTTL is how long a discovered schema is reused by a warm
	// instance before it is fetched again. Default DefaultSchemaTTL.
	SchemaTTL time.Duration
	// MaxGroups bounds the groups of one aggregation. Default DefaultMaxGroups.
	MaxGroups int
	// HTTPClient, when set, carries every request (a custom transport, a
	// proxy); it is copied, not modified. Its own timeout, if any, applies
	// on top of Timeout.
	HTTPClient *http.Client
	// Now is the clock of the schema cache. Default time.Now.
	Now func() time.Time
}

// Warehouse implements chat.Warehouse and chat.Searcher on Weaviate. It is
// safe for concurrent use: the client is created once and shared, and the
// only mutable state is the schema cache, guarded by its mutex.
type Warehouse struct {
	client    *wv.Client
	timeout   time.Duration
	rowCap    int
	maxGroups int
	allowed   map[string]bool // nil means every collection
	cache     schemaCache
}

var (
	_ chat.Warehouse = (*Warehouse)(nil)
	_ chat.Searcher  = (*Warehouse)(nil)
)

// New creates the client. It sends nothing to Weaviate, so a cold start
// never waits on the cluster; the first call discovers the schema.
func New(opts Options) (*Warehouse, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("weaviate.New: URL must be http(s)://host[:port], got %q", opts.URL)
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("weaviate.New: URL must not have a path (the client adds /v1), got %q", opts.URL)
	}
	w := &Warehouse{
		timeout:   opts.Timeout,
		rowCap:    opts.RowCap,
		maxGroups: opts.MaxGroups,
	}
	if w.timeout == 0 {
		w.timeout = DefaultTimeout
	}
	if w.rowCap == 0 {
		w.rowCap = DefaultRowCap
	}
	if w.maxGroups == 0 {
		w.maxGroups = DefaultMaxGroups
	}
	if w.timeout < 0 || w.rowCap < 0 || w.maxGroups < 0 || opts.SchemaTTL < 0 {
		return nil, errors.New("weaviate.New: Timeout, RowCap, MaxGroups and SchemaTTL must not be negative")
	}
	if len(opts.Collections) > 0 {
		w.allowed = map[string]bool{}
		for _, c := range opts.Collections {
			if c = strings.TrimSpace(c); c != "" {
				w.allowed[c] = true
			}
		}
	}
	w.cache.ttl = opts.SchemaTTL
	if w.cache.ttl == 0 {
		w.cache.ttl = DefaultSchemaTTL
	}
	w.cache.now = opts.Now
	if w.cache.now == nil {
		w.cache.now = time.Now
	}

	// The per-call context is what bounds a call; the client timeout, set
	// longer so it never wins that race, bounds what the SDK sends with a
	// background context.
	hc := &http.Client{Timeout: 2 * w.timeout}
	if opts.HTTPClient != nil {
		c := *opts.HTTPClient // a copy: the caller's client stays as it was
		hc = &c
	}
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	gate := &constructionGate{next: next}
	hc.Transport = gate
	headers := map[string]string{}
	if opts.APIKey != "" {
		// auth.ApiKey only yields a header; it is set here rather than via
		// Config.AuthConfig because the SDK refuses AuthConfig together with
		// a ConnectionClient, and that path would also dial Weaviate now.
		_, h, err := auth.ApiKey{Value: opts.APIKey}.GetAuthInfo(nil)
		if err != nil {
			return nil, fmt.Errorf("weaviate.New: api key: %w", err)
		}
		for k, v := range h {
			headers[k] = v
		}
	}
	// StartupTimeout 0: do not wait for the cluster here.
	w.client, err = wv.NewClient(wv.Config{
		Host: u.Host, Scheme: u.Scheme, ConnectionClient: hc, Headers: headers, Timeout: w.timeout,
	})
	if err != nil {
		return nil, fmt.Errorf("weaviate.New: %w", err)
	}
	gate.open.Store(true)
	return w, nil
}

// constructionGate refuses requests until the client is built. The SDK's
// constructor asks the server for its version with a background context
// (a request a slow Weaviate could hold for the whole client timeout, on
// every cold start). Only SDK parts this package does not use need that
// version, and they ask again when it is missing, so the request is failed
// at once instead and New stays free of network calls.
type constructionGate struct {
	open atomic.Bool
	next http.RoundTripper
}

func (g *constructionGate) RoundTrip(r *http.Request) (*http.Response, error) {
	if !g.open.Load() {
		return nil, errors.New("weaviate: no requests while the client is being built")
	}
	return g.next.RoundTrip(r)
}

// RowCap reports the row cap tables are bounded by.
func (w *Warehouse) RowCap() int { return w.rowCap }

// call runs fn with the per-call timeout and translates its error: the
// caller's deadline is CodeDeadline, anything else Weaviate did (refused,
// stalled past Timeout, answered 5xx) is CodeUnavailable. op and collection
// name what was tried, for the caller and for the logs.
func (w *Warehouse) call(ctx context.Context, op, collection string, fn func(context.Context) error) error {
	cctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	err := fn(cctx)
	if err == nil {
		return nil
	}
	return w.translate(ctx, cctx, op, collection, err)
}

func (w *Warehouse) translate(ctx, cctx context.Context, op, collection string, err error) error {
	var ce *chat.Error
	if errors.As(err, &ce) {
		return err
	}
	where := op
	if collection != "" {
		where = op + " on " + collection
	}
	fullOp := "weaviate." + op
	// fault.WeaviateClientError does not unwrap, so the contexts, not the
	// error chain, tell a timeout apart from other failures.
	switch {
	case ctx.Err() != nil:
		return chat.Wrap(err, chat.CodeDeadline, fullOp, fmt.Sprintf("the %s ran out of time", where))
	case cctx.Err() != nil || isTimeout(err):
		return chat.Wrap(err, chat.CodeUnavailable, fullOp,
			fmt.Sprintf("Weaviate did not answer the %s within %s; try again or ask for less", where, w.timeout))
	}
	var fe *fault.WeaviateClientError
	if errors.As(err, &fe) && fe.IsUnexpectedStatusCode && (fe.StatusCode == http.StatusUnauthorized || fe.StatusCode == http.StatusForbidden) {
		// The key is the operator's to fix: the hint goes to the log only.
		return chat.Wrap(fmt.Errorf("check WEAVIATE_API_KEY: %w", err), chat.CodeUnavailable, fullOp, fmt.Sprintf("Weaviate refused the %s", where))
	}
	return chat.Wrap(err, chat.CodeUnavailable, fullOp, fmt.Sprintf("Weaviate could not run the %s; try again later", where))
}

// isTimeout reports whether err is a network timeout, looking inside the
// SDK's error, which keeps its cause in a field rather than the chain.
func isTimeout(err error) bool {
	var fe *fault.WeaviateClientError
	if errors.As(err, &fe) && fe.DerivedFromError != nil {
		err = fe.DerivedFromError
	}
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// graphQLError reports the errors of a GraphQL answer (which arrives with
// status 200) as one error, so they are translated like any other failure.
// A GraphQL error often means the schema changed under a warm instance, so
// the cached schema is dropped and the next call discovers it again.
func (w *Warehouse) graphQLError(resp *models.GraphQLResponse) error {
	if resp == nil {
		return errors.New("empty GraphQL response")
	}
	if len(resp.Errors) == 0 {
		return nil
	}
	w.cache.invalidate()
	msgs := make([]string, 0, len(resp.Errors))
	for _, e := range resp.Errors {
		if e != nil {
			msgs = append(msgs, e.Message)
		}
	}
	return fmt.Errorf("graphql: %s", strings.Join(msgs, "; "))
}

// schemaCache keeps the discovered schema for the life of a warm instance.
// It is configuration read from Weaviate, never request data.
type schemaCache struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	current *discovered
	fetched time.Time
}

func (c *schemaCache) get() *discovered {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.current == nil || c.now().Sub(c.fetched) >= c.ttl {
		return nil
	}
	return c.current
}

func (c *schemaCache) put(d *discovered) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.current, c.fetched = d, c.now()
}

func (c *schemaCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.current = nil
}
