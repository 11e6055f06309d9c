package main

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// webhookProxy spreads the API server's webhook connections over several managers, round
// robin. The webhook configuration names one address, and every manager serves the same
// certificate, so TLS passes through untouched. It balances connections, not requests: the API
// server keeps its webhook connections open, so the spread shows in connections per shard.
type webhookProxy struct {
	listener net.Listener
	backends []string
	// connections counts the connections handed to each backend.
	connections []atomic.Int64
	wg          sync.WaitGroup
}

// startWebhookProxy listens on addr and forwards every connection to the next backend.
func startWebhookProxy(addr string, backends []string) (*webhookProxy, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	p := &webhookProxy{listener: l, backends: backends, connections: make([]atomic.Int64, len(backends))}
	p.wg.Go(p.serve)
	return p, nil
}

func (p *webhookProxy) serve() {
	for next := 0; ; next = (next + 1) % len(p.backends) {
		conn, err := p.listener.Accept()
		if err != nil {
			return // closed
		}
		go p.forward(conn, next)
	}
}

func (p *webhookProxy) forward(conn net.Conn, backend int) {
	defer func() { _ = conn.Close() }()
	upstream, err := net.Dial("tcp", p.backends[backend])
	if err != nil {
		return // the API server sees the webhook fail, as it would with the manager down
	}
	defer func() { _ = upstream.Close() }()
	p.connections[backend].Add(1)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go pipe(upstream, conn)
	go pipe(conn, upstream)
	<-done // either side closing ends the connection; the deferred closes end the other copy
}

// connectionCounts returns the connections forwarded to each backend so far.
func (p *webhookProxy) connectionCounts() []int64 {
	counts := make([]int64, len(p.connections))
	for i := range p.connections {
		counts[i] = p.connections[i].Load()
	}
	return counts
}

func (p *webhookProxy) close() {
	_ = p.listener.Close()
	p.wg.Wait()
}
