package weaviate

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	pb "github.com/weaviate/weaviate/grpc/generated/protocol/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// Ports of the gRPC endpoint when nothing names one: Weaviate's default
// for a server reached directly, 443 for Weaviate Cloud.
const (
	defaultGRPCPort = "50051"
	cloudGRPCPort   = "443"
)

// maxReplyBytes bounds one gRPC answer. gRPC's default of 4 MiB is reached
// by a page of ROW_LIMIT rows with long text fields; a page is never
// larger than this.
const maxReplyBytes = 64 << 20

// grpcEndpoint is where the gRPC API listens and whether to use TLS.
type grpcEndpoint struct {
	addr string // host:port
	tls  bool
}

// cloudDomainsList holds the domains of Weaviate Cloud clusters, whose gRPC
// endpoint is the REST host with a "grpc-" prefix, on 443.
const cloudDomainsList = ".weaviate.cloud,.weaviate.network"

// grpcTarget derives the gRPC endpoint from the REST URL rest (already
// checked to be http(s)://host[:port]) and the override, which may be a
// URL (http:// for plaintext, https:// for TLS) or a bare host:port.
//
// Without an override: Weaviate Cloud (https on a Cloud domain) is
// grpc-<host>:443 with TLS; any other host is <host>:50051, with TLS
// exactly when the REST URL is https. A bare host:port is plaintext on a
// loopback host and otherwise follows the REST URL's scheme, so a cluster
// behind TLS is never spoken to in plaintext by accident.
func grpcTarget(rest *url.URL, override string) (grpcEndpoint, error) {
	override = strings.TrimSpace(override)
	if override == "" {
		host := rest.Hostname()
		if rest.Scheme == "https" && isCloud(host) {
			return grpcEndpoint{addr: net.JoinHostPort("grpc-"+host, cloudGRPCPort), tls: true}, nil
		}
		return grpcEndpoint{addr: net.JoinHostPort(host, defaultGRPCPort), tls: rest.Scheme == "https" && !isLoopback(host)}, nil
	}
	bad := func(why string) error {
		return fmt.Errorf("gRPC URL must be host:port or http(s)://host[:port] (%s), got %q", why, override)
	}
	if strings.Contains(override, "://") {
		u, err := url.Parse(override)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
			return grpcEndpoint{}, bad("scheme http or https and a host")
		}
		if u.Path != "" && u.Path != "/" {
			return grpcEndpoint{}, bad("no path")
		}
		port := u.Port()
		if port == "" {
			port = defaultGRPCPort
			if u.Scheme == "https" {
				port = cloudGRPCPort
			}
		}
		return grpcEndpoint{addr: net.JoinHostPort(u.Hostname(), port), tls: u.Scheme == "https"}, nil
	}
	host, port, err := net.SplitHostPort(override)
	if err != nil || host == "" {
		return grpcEndpoint{}, bad("a port is needed")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return grpcEndpoint{}, bad("port from 1 to 65535")
	}
	return grpcEndpoint{addr: net.JoinHostPort(host, port), tls: rest.Scheme == "https" && !isLoopback(host)}, nil
}

func isCloud(host string) bool {
	host = strings.ToLower(host)
	for _, d := range strings.Split(cloudDomainsList, ",") {
		if strings.HasSuffix(host, d) {
			return true
		}
	}
	return false
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// dialGRPC creates the connection. grpc.NewClient sends nothing: the
// connection is made on the first call and kept (and re-made after a
// failure) for the life of the Warehouse.
func dialGRPC(ep grpcEndpoint, roots *x509.CertPool, extra []grpc.DialOption) (*grpc.ClientConn, error) {
	creds := insecure.NewCredentials()
	if ep.tls {
		// Certificates are always verified: against roots when given,
		// otherwise the system's.
		creds = credentials.NewTLS(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})
	}
	opts := append([]grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxReplyBytes)),
	}, extra...)
	// passthrough: the address goes to the dialer as it is, as REST's does,
	// and is resolved on each connection.
	return grpc.NewClient("passthrough:///"+ep.addr, opts...)
}

// outgoing adds the API key, as a bearer token, to a call's metadata.
// It is added per call rather than as per-RPC credentials because gRPC
// refuses those on a plaintext connection, which a local cluster uses.
func (w *Warehouse) outgoing(ctx context.Context) context.Context {
	if w.bearer == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", w.bearer)
}

// search runs one Search call under the per-call timeout.
func (w *Warehouse) search(ctx context.Context, op, collection string, req *pb.SearchRequest) (*pb.SearchReply, error) {
	// The properties come back typed (ints as int64) only when the request
	// says it speaks the API of 1.27 and later.
	req.Uses_123Api, req.Uses_125Api, req.Uses_127Api = true, true, true
	var reply *pb.SearchReply
	err := w.call(ctx, op, collection, func(ctx context.Context) error {
		var err error
		reply, err = w.rpc.Search(w.outgoing(ctx), req)
		if err == nil && reply == nil {
			err = errors.New("empty Search reply")
		}
		return err
	})
	return reply, err
}

// aggregate runs one Aggregate call under the per-call timeout.
func (w *Warehouse) aggregate(ctx context.Context, op, collection string, req *pb.AggregateRequest) (*pb.AggregateReply, error) {
	var reply *pb.AggregateReply
	err := w.call(ctx, op, collection, func(ctx context.Context) error {
		var err error
		reply, err = w.rpc.Aggregate(w.outgoing(ctx), req)
		if err == nil && reply == nil {
			err = errors.New("empty Aggregate reply")
		}
		return err
	})
	return reply, err
}
