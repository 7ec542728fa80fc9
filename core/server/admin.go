package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/gatehouse/gatehouse/core/audit"
	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/seal"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/token"
)

// AdminSocket is the admin socket's file name in the data folder. Only the owner of the data
// folder can reach it (mode 0600): it serves online backups and key rotation to the gatehouse
// command on the same machine.
const AdminSocket = "admin.sock"

// longestTokenLifetime bounds how long a retired signing key must keep verifying.
func (s *Server) longestTokenLifetime() time.Duration {
	return max(s.cfg.RefreshTTL, s.cfg.AccessTTL, s.cfg.SudoTTL, s.cfg.PartialTTL)
}

// RotateKeys adds a signing key, retires those no token in date can carry, and starts signing
// with the new one at once. It returns the key ids, newest first.
func (s *Server) RotateKeys() ([]string, error) {
	keys, err := token.Rotate(s.store, s.sealer, time.Now(), s.longestTokenLifetime(), func(txn store.Txn, k token.Key) error {
		return s.audit.Record(audit.WithActor(context.Background(), "socket"), txn, audit.Event{Type: audit.KeysRotated, Detail: map[string]string{"kid": k.ID}})
	})
	if err != nil {
		return nil, err
	}
	if err := s.auth.Minter.SetKeys(keys); err != nil {
		return nil, err
	}
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	s.log.Info("signing keys rotated", "signing", ids[0], "keys", len(ids))
	return ids, nil
}

// reloadKeys loads the signing keys from the store into the minter, after a change notice (a
// rotation, here or through another process on the same store). Reloading twice is harmless.
func (s *Server) reloadKeys() {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	keys, err := token.LoadKeys(s.store, s.sealer)
	if err == nil && len(keys) == 0 {
		err = errors.New("no signing key in the store")
	}
	if err == nil {
		err = s.auth.Minter.SetKeys(keys)
	}
	if err != nil {
		s.log.Error("signing keys changed but could not be reloaded; signing with the old set", "error", err)
		return
	}
	s.log.Debug("signing keys reloaded", "signing", keys[0].ID, "keys", len(keys))
}

// serveAdmin listens on the admin socket until ctx is done.
func (s *Server) serveAdmin(ctx context.Context) (stop func(), err error) {
	path := filepath.Join(s.cfg.DataDir, AdminSocket)
	ln, err := listenPrivateUnix(path)
	if err != nil {
		return nil, fmt.Errorf("server: admin socket: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/backup", func(w http.ResponseWriter, r *http.Request) {
		b, ok := s.store.(store.Backupper)
		if !ok {
			http.Error(w, "this store has no online backup", http.StatusNotImplemented)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		if err := b.Backup(w); err != nil {
			s.log.Error("backup failed", "error", err)
			return
		}
		s.log.Info("online backup written")
	})
	mux.HandleFunc("POST /v1/keys/rotate", func(w http.ResponseWriter, r *http.Request) {
		ids, err := s.RotateKeys()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string][]string{"keys": ids})
	})
	// The admin API through the socket: the same routes as /admin/ on a listener, with the
	// actor "socket" and no token (only the owner of the data folder reaches the socket).
	mux.HandleFunc("/admin/", s.adminSocketAPI)
	// The Go runtime's profiles (heap, goroutine, CPU, ...), for the owner of the data folder
	// only: where the memory and the time go (BENCHMARKS.md, "Where the idle memory goes").
	//   curl --unix-socket DATA/admin.sock http://admin/debug/pprof/heap > heap.pb.gz
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return func() {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
		_ = os.Remove(path)
	}, nil
}

// socketPeer is the "address" of a request through the admin socket: not a TCP peer, so its
// audit events name no client IP.
var socketPeer = &net.UnixAddr{Name: AdminSocket, Net: "unix"}

// adminSocketAPI hands a request of the admin socket to the router's admin routes.
func (s *Server) adminSocketAPI(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(s.cfg.BodyLimit)+1))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if len(body) > s.cfg.BodyLimit {
		http.Error(w, "request body is too large", http.StatusRequestEntityTooLarge)
		return
	}
	var req fasthttp.Request
	req.Header.SetMethod(r.Method)
	req.SetRequestURI(r.URL.RequestURI())
	req.Header.SetHost("admin")
	for k, vs := range r.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.SetBody(body)
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, socketPeer, nil)
	s.router.AdminSocketHandler(&ctx)
	for _, k := range []string{"Content-Type", "Cache-Control", "Retry-After", "X-Request-Id"} {
		if v := ctx.Response.Header.Peek(k); len(v) > 0 {
			w.Header().Set(k, string(v))
		}
	}
	w.WriteHeader(ctx.Response.StatusCode())
	_, _ = w.Write(ctx.Response.Body())
}

// serveAdminAPI serves the admin API alone on GATEHOUSE_ADMIN_ADDR, when it is set.
func (s *Server) serveAdminAPI() (stop func(), err error) {
	if s.cfg.AdminAddr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", s.cfg.AdminAddr)
	if err != nil {
		return nil, fmt.Errorf("server: listen GATEHOUSE_ADMIN_ADDR %s: %w", s.cfg.AdminAddr, err)
	}
	s.adminHTTP = &fasthttp.Server{
		Handler:               s.router.AdminListenerHandler,
		ErrorHandler:          parseErrorHandler,
		Name:                  "gatehouse",
		MaxRequestBodySize:    s.cfg.BodyLimit,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           2 * time.Minute,
		NoDefaultServerHeader: true,
		CloseOnShutdown:       true,
		Logger:                fasthttpLogger{s.log.Named("admin")},
	}
	s.log.Info("admin API listening", "addr", ln.Addr().String())
	go func() { _ = s.adminHTTP.Serve(ln) }()
	return func() { _ = s.adminHTTP.Shutdown() }, nil
}

// listenPrivateUnix listens on a unix socket at path that only the owner can reach at any
// moment: the socket is bound in a fresh 0700 folder beside path (the process's umask decides
// the mode bind gives it, and changing the umask would race with every other file the process
// creates), made 0600 there, and only then renamed into place, replacing a stale socket of a
// killed process.
func listenPrivateUnix(path string) (net.Listener, error) {
	dir, err := os.MkdirTemp(filepath.Dir(path), ".admin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, err
	}
	tmp := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", tmp)
	if err != nil {
		return nil, err
	}
	ul := ln.(*net.UnixListener)
	ul.SetUnlinkOnClose(false) // the path it was bound to is gone; stop removes the real one
	if err := os.Chmod(tmp, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// AdminClient talks to a running server's admin socket.
type AdminClient struct{ http *http.Client }

// DialAdmin returns a client of the server running on dataDir, or ErrNotRunning.
func DialAdmin(dataDir string) (*AdminClient, error) {
	path := filepath.Join(dataDir, AdminSocket)
	conn, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return nil, ErrNotRunning
	}
	conn.Close()
	return &AdminClient{http: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}}, nil
}

// ErrNotRunning is returned by DialAdmin when no server runs on the data folder.
var ErrNotRunning = errors.New("server: no server is running on this data folder")

// Backup streams an online backup into w.
func (c *AdminClient) Backup(w io.Writer) error {
	resp, err := c.http.Post("http://admin/v1/backup", "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("server: backup: %s", resp.Status)
	}
	_, err = io.Copy(w, resp.Body)
	return err
}

// Do sends one admin API request (method, path under /admin/, JSON body or nil) through the
// socket and returns the answer's status and body.
func (c *AdminClient) Do(method, path string, body []byte) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://admin"+path, r)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return resp.StatusCode, out, err
}

// RotateKeys asks the running server to rotate its signing keys.
func (c *AdminClient) RotateKeys() ([]string, error) {
	resp, err := c.http.Post("http://admin/v1/keys/rotate", "", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return nil, fmt.Errorf("server: keys rotate: %s: %s", resp.Status, msg)
	}
	var out map[string][]string
	err = json.NewDecoder(resp.Body).Decode(&out)
	return out["keys"], err
}

// OpenAdminStore opens the configured store (GATEHOUSE_STORE: Badger in the data folder, or
// PostgreSQL) and master key for the admin commands, checked against each other as at start-up
// unless the store is empty (a restore target). A Badger store needs its server stopped.
func OpenAdminStore(cfg config.Config) (store.Store, *seal.Sealer, error) {
	st, err := openStore(cfg, nil)
	if err != nil {
		return nil, nil, err
	}
	sealer, err := seal.LoadOrCreateFile(MasterKeyPath(cfg))
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, sealer, nil
}

// OfflineStore opens the store and master key of a data folder for the admin commands when no
// server runs on it.
func OfflineStore(dataDir string) (*store.Badger, *seal.Sealer, error) {
	st, err := store.OpenBadger(filepath.Join(dataDir, "store"), nil)
	if err != nil {
		return nil, nil, err
	}
	sealer, err := seal.LoadOrCreate(dataDir)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, sealer, nil
}
