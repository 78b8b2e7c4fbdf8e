package weaviate_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pb "github.com/weaviate/weaviate/grpc/generated/protocol/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/test/bufconn"

	"github.com/datachat/datachat/shared/weaviate"
)

// fakeGRPC is an in-process weaviate.v1.Weaviate server: it records every
// request with its metadata and answers with search and aggregate (or an
// empty reply when they are nil). It stands in for what the test
// weaviate-server cannot do: vectorizer modules, TLS, API keys, failures
// on demand. Methods it does not override answer Unimplemented.
type fakeGRPC struct {
	pb.UnimplementedWeaviateServer

	search    func(context.Context, *pb.SearchRequest) (*pb.SearchReply, error)
	aggregate func(context.Context, *pb.AggregateRequest) (*pb.AggregateReply, error)

	mu         sync.Mutex
	searches   []*pb.SearchRequest
	aggregates []*pb.AggregateRequest
	md         []metadata.MD
	tls        []bool // whether each call came over TLS
}

func (f *fakeGRPC) record(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	p, _ := peer.FromContext(ctx)
	_, overTLS := p.AuthInfo.(credentials.TLSInfo)
	f.md = append(f.md, md)
	f.tls = append(f.tls, overTLS)
}

func (f *fakeGRPC) Search(ctx context.Context, r *pb.SearchRequest) (*pb.SearchReply, error) {
	f.mu.Lock()
	f.record(ctx)
	f.searches = append(f.searches, r)
	f.mu.Unlock()
	if f.search == nil {
		return &pb.SearchReply{}, nil
	}
	return f.search(ctx, r)
}

func (f *fakeGRPC) Aggregate(ctx context.Context, r *pb.AggregateRequest) (*pb.AggregateReply, error) {
	f.mu.Lock()
	f.record(ctx)
	f.aggregates = append(f.aggregates, r)
	f.mu.Unlock()
	if f.aggregate == nil {
		return &pb.AggregateReply{}, nil
	}
	return f.aggregate(ctx, r)
}

func (f *fakeGRPC) lastSearch(t *testing.T) *pb.SearchRequest {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.searches) == 0 {
		t.Fatal("no Search request reached the server")
	}
	return f.searches[len(f.searches)-1]
}

func (f *fakeGRPC) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.md)
}

// serve starts f on an in-memory listener (with creds, when not nil) and
// returns the dial option that reaches it, whatever address the adapter
// dials; dialed receives each address dialed.
func (f *fakeGRPC) serve(t *testing.T, creds credentials.TransportCredentials, dialed func(string)) grpc.DialOption {
	t.Helper()
	l := bufconn.Listen(1 << 20)
	var opts []grpc.ServerOption
	if creds != nil {
		opts = append(opts, grpc.Creds(creds))
	}
	s := grpc.NewServer(opts...)
	pb.RegisterWeaviateServer(s, f)
	go s.Serve(l)
	t.Cleanup(s.Stop)
	return grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
		if dialed != nil {
			dialed(addr)
		}
		return l.DialContext(ctx)
	})
}

// fakeWeaviate is a real HTTP server answering Weaviate's schema request,
// and f on gRPC: together, what a query needs. The options reach both.
func fakeWeaviate(t *testing.T, schema string, f *fakeGRPC) (weaviate.Options, *atomic.Int64) {
	t.Helper()
	var schemaReads atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/schema", func(w http.ResponseWriter, r *http.Request) {
		schemaReads.Add(1)
		io.WriteString(w, schema)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	opts := weaviate.Options{URL: srv.URL, GRPCURL: "weaviate.test:50051", GRPCDialOptions: []grpc.DialOption{f.serve(t, nil, nil)}}
	return opts, &schemaReads
}

// newWarehouse creates a Warehouse and closes it when the test ends.
func newWarehouse(t *testing.T, opts weaviate.Options) *weaviate.Warehouse {
	t.Helper()
	w, err := weaviate.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// selfSigned makes a certificate for host and a pool that trusts it.
func selfSigned(t *testing.T, host string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true,

		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// textValue and friends build the typed property values of a reply.
func textValue(s string) *pb.Value { return &pb.Value{Kind: &pb.Value_TextValue{TextValue: s}} }
func intValue(n int64) *pb.Value   { return &pb.Value{Kind: &pb.Value_IntValue{IntValue: n}} }

// result is one search result with an id and properties.
func result(id string, props map[string]*pb.Value) *pb.SearchResult {
	return &pb.SearchResult{
		Properties: &pb.PropertiesResult{NonRefProps: &pb.Properties{Fields: props}},
		Metadata:   &pb.MetadataResult{Id: id},
	}
}
