// Package weaviate is the chat.Warehouse on a Weaviate cluster. Queries,
// aggregations and searches go over Weaviate's gRPC API (weaviate.v1.Weaviate
// Search and Aggregate, through the server's own generated stubs); the
// schema and seeding go over REST through the official Go client
// (weaviate-go-client v4). GraphQL is not used, so a cluster with GraphQL
// turned off (every new Weaviate Cloud cluster) is served. The server must
// be Weaviate 1.28.5 or later, the first with gRPC Aggregate.
//
// Every name a caller sends is checked against the discovered schema before
// anything reaches Weaviate, filter values travel as typed protobuf values
// (never formatted into query text), and every failure leaves as a
// *chat.Error: CodeInvalid for a bad request, CodeUnavailable when Weaviate
// cannot answer, CodeDeadline when the caller's time ran out.
package weaviate

import (
	"context"
	"crypto/x509"
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
	pb "github.com/weaviate/weaviate/grpc/generated/protocol/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

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
	// GRPCURL is where the gRPC API listens, as host:port or as a URL
	// (http:// for plaintext, https:// for TLS). Empty: derived from URL,
	// grpc-<host>:443 for Weaviate Cloud and <host>:50051 otherwise (see
	// grpcTarget).
	GRPCURL string
	// RootCAs, when set, replaces the system's roots for verifying the
	// gRPC endpoint's certificate (a private CA). Certificates are always
	// verified.
	RootCAs *x509.CertPool
	// GRPCDialOptions are added to the adapter's own when the connection
	// is created: a dialer, interceptors.
	GRPCDialOptions []grpc.DialOption
	// APIKey, when set, is sent as a bearer token on every request, REST
	// and gRPC.
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
// safe for concurrent use: the REST client and the gRPC connection are
// created once and shared, and the only mutable state is the schema cache,
// guarded by its mutex.
type Warehouse struct {
	client    *wv.Client
	conn      *grpc.ClientConn
	rpc       pb.WeaviateClient
	bearer    string // "Bearer <key>", or empty
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

// New creates the REST client and the gRPC connection. It sends nothing to
// Weaviate, so a cold start never waits on the cluster; the first call
// discovers the schema and connects. Close releases the connection.
func New(opts Options) (*Warehouse, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("weaviate.New: URL must be http(s)://host[:port], got %q", opts.URL)
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("weaviate.New: URL must not have a path (the client adds /v1), got %q", opts.URL)
	}
	ep, err := grpcTarget(u, opts.GRPCURL)
	if err != nil {
		return nil, fmt.Errorf("weaviate.New: %w", err)
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
	if opts.APIKey != "" {
		w.bearer = "Bearer " + opts.APIKey
	}
	if w.conn, err = dialGRPC(ep, opts.RootCAs, opts.GRPCDialOptions); err != nil {
		return nil, fmt.Errorf("weaviate.New: gRPC %s: %w", ep.addr, err)
	}
	w.rpc = pb.NewWeaviateClient(w.conn)
	return w, nil
}

// Close closes the gRPC connection. The Warehouse must not be used after.
func (w *Warehouse) Close() error { return w.conn.Close() }

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
	case ctx.Err() != nil || deadlinePassed(ctx):
		return chat.Wrap(err, chat.CodeDeadline, fullOp, fmt.Sprintf("the %s ran out of time", where))
	case cctx.Err() != nil || isTimeout(err):
		return chat.Wrap(err, chat.CodeUnavailable, fullOp,
			fmt.Sprintf("Weaviate did not answer the %s within %s; try again or ask for less", where, w.timeout))
	}
	if st, ok := status.FromError(err); ok && st.Code() != codes.OK {
		return w.translateStatus(st, fullOp, where, err)
	}
	var fe *fault.WeaviateClientError
	if errors.As(err, &fe) && fe.IsUnexpectedStatusCode && (fe.StatusCode == http.StatusUnauthorized || fe.StatusCode == http.StatusForbidden) {
		// The key is the operator's to fix: the hint goes to the log only.
		return chat.Wrap(fmt.Errorf("check WEAVIATE_API_KEY: %w", err), chat.CodeUnavailable, fullOp, fmt.Sprintf("Weaviate refused the %s", where))
	}
	return chat.Wrap(err, chat.CodeUnavailable, fullOp, fmt.Sprintf("Weaviate could not run the %s; try again later", where))
}

// translateStatus translates a gRPC failure. The hints for the operator
// (which setting to check) go to the log, in the error; the caller's
// message names only what was tried.
func (w *Warehouse) translateStatus(st *status.Status, fullOp, where string, err error) error {
	switch st.Code() {
	case codes.Unauthenticated, codes.PermissionDenied:
		return chat.Wrap(fmt.Errorf("check WEAVIATE_API_KEY: %w", err), chat.CodeUnavailable, fullOp, fmt.Sprintf("Weaviate refused the %s", where))
	case codes.Unavailable:
		// Nothing answered at the gRPC address, or the connection broke.
		return chat.Wrap(fmt.Errorf("check that Weaviate's gRPC port is reachable (WEAVIATE_GRPC_URL): %w", err), chat.CodeUnavailable, fullOp,
			fmt.Sprintf("Weaviate could not run the %s; try again later", where))
	case codes.DeadlineExceeded:
		return chat.Wrap(err, chat.CodeUnavailable, fullOp,
			fmt.Sprintf("Weaviate did not answer the %s within %s; try again or ask for less", where, w.timeout))
	case codes.Unimplemented:
		return chat.Wrap(fmt.Errorf("Weaviate 1.28.5 or later is needed for gRPC Search and Aggregate: %w", err), chat.CodeUnavailable, fullOp,
			fmt.Sprintf("Weaviate could not run the %s", where))
	}
	// The server ran the call and refused it: most often the schema changed
	// under a warm instance, so the cached schema is dropped and the next
	// call discovers it again.
	w.cache.invalidate()
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

// deadlinePassed reports whether ctx's deadline is behind us. gRPC ends a
// call at the deadline by its own clock, which can be a moment before the
// context's timer marks it done: the caller's deadline all the same.
func deadlinePassed(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}
