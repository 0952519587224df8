// Package httpapi serves the bot's HTTP endpoint: liveness, readiness,
// Prometheus metrics and the push-ingest API, on DIGESTBOT_HTTP_ADDR.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Check is one readiness condition; nil means ready.
type Check struct {
	Name string
	Test func(ctx context.Context) error
}

// Options configure the server.
type Options struct {
	Addr    string
	Metrics http.Handler // /metrics; nil: not served
	Push    http.Handler // POST /v1/articles; nil: not served
	Ready   []Check      // /readyz
	Logger  *slog.Logger
}

// Handler returns the routes.
func Handler(o Options) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		status, code := map[string]string{}, http.StatusOK
		for _, c := range o.Ready {
			if err := c.Test(ctx); err != nil {
				status[c.Name] = err.Error()
				code = http.StatusServiceUnavailable
			} else {
				status[c.Name] = "ok"
			}
		}
		writeJSON(w, code, status)
	})
	if o.Metrics != nil {
		mux.Handle("GET /metrics", o.Metrics)
	}
	if o.Push != nil {
		mux.Handle("/v1/articles", o.Push)
	}
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// Server is the running endpoint.
type Server struct {
	srv *http.Server
	ln  net.Listener
}

// Start listens on o.Addr and serves in the background.
func Start(o Options) (*Server, error) {
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, err
	}
	s := &Server{ln: ln, srv: &http.Server{
		Handler:           Handler(o),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && o.Logger != nil {
			o.Logger.Error("http server stopped", "err", err)
		}
	}()
	return s, nil
}

// Addr is the address it listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Shutdown stops accepting and waits for requests in flight, within ctx.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }
