package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The PostgreSQL store: several Gatehouse processes share one database.
//
// Every key is a row of kv(key bytea, value bytea, expires_at timestamptz). Update runs at
// SERIALIZABLE isolation, so two transactions that read a key and one of them writes it
// conflict (as on Badger), and is retried on SQLSTATE 40001 and 40P01. Commits are synchronous
// (the server's default synchronous_commit=on is never lowered). A TTL is an expiry time; reads
// ignore expired rows and a sweeper deletes them. Change notices travel as NOTIFY, which
// PostgreSQL delivers only on commit, to one LISTEN connection per process.

// notifyChannel is the NOTIFY channel of the change feed; a payload is topic:key.
const notifyChannel = "gatehouse"

// scanBatch is how many rows one round trip of Scan fetches.
const scanBatch = 256

// PostgresOptions are the settings of OpenPostgres; the zero value is usable.
type PostgresOptions struct {
	// MaxConns bounds the pool's connections (0: pgx's default, max(4, CPUs)).
	MaxConns int32
	// MinConns are kept open (0: none).
	MinConns int32
	// SweepInterval is how often expired rows are deleted (0: one minute).
	SweepInterval time.Duration
	// TxnTimeout bounds one transaction attempt, so an unreachable database fails requests
	// instead of holding them (0: 30 seconds).
	TxnTimeout time.Duration
	// SkipMigrate leaves the schema as it is (the caller ran Migrate); by default OpenPostgres
	// migrates it to the current version under an advisory lock.
	SkipMigrate bool
	// Logger receives the store's logs (nil: none).
	Logger hclog.Logger
}

// Postgres is the Store on a PostgreSQL database shared by any number of processes.
type Postgres struct {
	pool *pgxpool.Pool
	log  hclog.Logger
	opts PostgresOptions
	feed Feed

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	echo   echoes
}

// echoWait bounds how long a commit that sent change notices waits for their echo on this
// process's own LISTEN connection (Update).
const echoWait = time.Second

// echoes are the commits waiting to hear their own notices back. PostgreSQL delivers a notice
// to every listening connection at once, so when this process hears it the other nodes have it
// too: waiting for it before the answer closes most of the window in which another node still
// answers from a cache the change has made stale (issue 13: refused by the next request).
// A notice of another process with the same payload counts as well (the same invalidation).
type echoes struct {
	mu        sync.Mutex
	waiting   map[string][]chan struct{}
	listening atomic.Bool
}

// expect registers a wait for each payload (before the commit: the echo may come at once).
func (e *echoes) expect(notices [][2]string) []echoWaiter {
	if len(notices) == 0 || !e.listening.Load() {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.waiting == nil {
		e.waiting = map[string][]chan struct{}{}
	}
	ws := make([]echoWaiter, 0, len(notices))
	for _, n := range notices {
		w := echoWaiter{payload: n[0] + ":" + n[1], ch: make(chan struct{})}
		e.waiting[w.payload] = append(e.waiting[w.payload], w.ch)
		ws = append(ws, w)
	}
	return ws
}

// heard releases the waits for payload.
func (e *echoes) heard(payload string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ch := range e.waiting[payload] {
		close(ch)
	}
	delete(e.waiting, payload)
}

// releaseAll releases every wait (the connection was lost: no echo will come).
func (e *echoes) releaseAll() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, chs := range e.waiting {
		for _, ch := range chs {
			close(ch)
		}
	}
	e.waiting = nil
}

// drop forgets waits that will not be released (a failed commit, a timeout).
func (e *echoes) drop(ws []echoWaiter) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, w := range ws {
		chs := e.waiting[w.payload]
		for i, ch := range chs {
			if ch == w.ch {
				chs = append(chs[:i], chs[i+1:]...)
				break
			}
		}
		if len(chs) == 0 {
			delete(e.waiting, w.payload)
		} else {
			e.waiting[w.payload] = chs
		}
	}
}

// wait waits for every echo of ws, at most echoWait in all.
func (e *echoes) wait(ws []echoWaiter) {
	if len(ws) == 0 {
		return
	}
	timeout := time.NewTimer(echoWait)
	defer timeout.Stop()
	for i, w := range ws {
		select {
		case <-w.ch:
		case <-timeout.C:
			e.drop(ws[i:])
			return
		}
	}
}

type echoWaiter struct {
	payload string
	ch      chan struct{}
}

var (
	_ Store     = (*Postgres)(nil)
	_ Backupper = (*Postgres)(nil)
	_ Readier   = (*Postgres)(nil)
)

// IsPostgresURL reports whether s names a PostgreSQL database (postgres:// or postgresql://).
func IsPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// OpenPostgres connects to the database at url (a postgres:// URL, multi-host allowed),
// migrates its schema unless opts.SkipMigrate, starts listening for change notices and starts
// the sweeper of expired rows.
func OpenPostgres(url string, opts PostgresOptions) (*Postgres, error) {
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = time.Minute
	}
	if opts.TxnTimeout <= 0 {
		opts.TxnTimeout = 30 * time.Second
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store: GATEHOUSE_STORE: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if opts.MinConns > 0 {
		cfg.MinConns = opts.MinConns
	}
	ctx, cancel := context.WithCancel(context.Background())
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	p := &Postgres{pool: pool, log: opts.Logger, opts: opts, ctx: ctx, cancel: cancel}
	if err := p.start(cfg.ConnConfig); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func (p *Postgres) start(connCfg *pgx.ConnConfig) error {
	ctx, cancel := context.WithTimeout(p.ctx, 2*p.opts.TxnTimeout)
	defer cancel()
	if err := p.pool.Ping(ctx); err != nil {
		return fmt.Errorf("store: postgres: %w", err)
	}
	if !p.opts.SkipMigrate {
		if err := migratePool(ctx, p.pool, len(migrations), p.log); err != nil {
			return err
		}
	} else if err := checkSchema(ctx, p.pool); err != nil {
		return err
	}
	// The first LISTEN is set up before Open returns: no notice committed after it is missed.
	conn, err := p.listen(ctx, connCfg)
	if err != nil {
		return fmt.Errorf("store: postgres: LISTEN: %w", err)
	}
	p.wg.Add(2)
	go p.listenLoop(connCfg, conn)
	go p.sweepLoop()
	return nil
}

// Ready implements Readier: the database answers.
func (p *Postgres) Ready() error {
	if p.ctx.Err() != nil {
		return ErrClosed
	}
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	return p.pool.Ping(ctx)
}

// Subscribe implements Store.
func (p *Postgres) Subscribe(topic string, fn func(key string)) { p.feed.Subscribe(topic, fn) }

// View implements Store: a REPEATABLE READ, READ ONLY transaction (one consistent snapshot).
func (p *Postgres) View(fn func(Txn) error) error {
	ctx, cancel := context.WithTimeout(p.ctx, p.opts.TxnTimeout)
	defer cancel()
	tx, err := p.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return pgFailure("", err)
	}
	x := &pgTxn{ctx: ctx, tx: tx, readOnly: true}
	err = fn(x)
	if err == nil {
		err = x.err
	}
	if err != nil {
		_ = tx.Rollback(context.Background())
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return pgFailure("", err)
	}
	x.runHooks(&p.feed)
	return nil
}

// Update implements Store: a SERIALIZABLE transaction, retried with a jittered exponential
// backoff while PostgreSQL reports a serialization failure or a deadlock (fn runs again).
func (p *Postgres) Update(fn func(Txn) error) error {
	for attempt := 0; attempt < updateAttempts; attempt++ {
		x, err := p.updateOnce(fn)
		if !retryable(err) {
			if err == nil {
				x.runHooks(&p.feed)
				p.echo.wait(x.echoes)
			}
			return err
		}
		time.Sleep(backoff(attempt))
	}
	return ErrConflict
}

func (p *Postgres) updateOnce(fn func(Txn) error) (*pgTxn, error) {
	ctx, cancel := context.WithTimeout(p.ctx, p.opts.TxnTimeout)
	defer cancel()
	tx, err := p.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable, AccessMode: pgx.ReadWrite})
	if err != nil {
		return nil, pgFailure("", err)
	}
	x := &pgTxn{ctx: ctx, tx: tx}
	err = fn(x)
	// A failed statement aborts the transaction: its error wins over what fn made of it (fn
	// may have taken a failed read for "not found").
	if x.err != nil {
		err = x.err
	}
	if err != nil {
		_ = tx.Rollback(context.Background())
		return nil, err
	}
	x.echoes = p.echo.expect(x.notices)
	if err := tx.Commit(ctx); err != nil {
		p.echo.drop(x.echoes)
		return nil, pgFailure("commit: ", err)
	}
	return x, nil
}

// pgFailure wraps an error of PostgreSQL (what names the step), as ErrUnavailable too when the
// database could not be reached.
func pgFailure(what string, err error) error {
	if unreachable(err) {
		return fmt.Errorf("store: postgres: %s%w: %w", what, ErrUnavailable, err)
	}
	return fmt.Errorf("store: postgres: %s%w", what, err)
}

// unreachable reports an error of the connection rather than of the statement: no server to
// connect to, a connection lost or timed out, the server shutting down or starting (57P01-3),
// a connection exception (class 08), or a read-only server (25006: a standby, during a
// failover).
func unreachable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03" || pe.Code == "25006"
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) || pgconn.SafeToRetry(err)
}

// retryable reports a serialization failure (40001) or a deadlock (40P01).
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	return false
}

// NextID implements Store: the sequence is the key seq/<name> holding the next free value as
// 8 bytes big-endian, the layout of Badger's sequences, so a backup carries it either way.
func (p *Postgres) NextID(name string) (uint64, error) {
	var id uint64
	err := p.Update(func(txn Txn) error {
		next, err := readSequence(txn, name)
		if err != nil {
			return err
		}
		id = next
		return txn.Set(Key("seq", name), encodeSequence(next+1), 0)
	})
	return id, err
}

// Size implements Store: the bytes of the store's tables and their indexes.
func (p *Postgres) Size() int64 {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	var n int64
	err := p.pool.QueryRow(ctx, `SELECT pg_total_relation_size('kv') + pg_total_relation_size('schema_version')`).Scan(&n)
	if err != nil {
		return 0
	}
	return n
}

// Backup implements Backupper: a consistent dump (see Export) written while the store serves.
func (p *Postgres) Backup(w io.Writer) error { return Export(p, w) }

// Restore loads a dump made by Export into the store (meant for an empty one).
func (p *Postgres) Restore(r io.Reader) error { return Import(p, r) }

// Empty reports whether the store holds no key of the layout.
func (p *Postgres) Empty() (bool, error) { return isEmpty(p) }

// Close implements Store: stops the listener and the sweeper, closes the pool.
func (p *Postgres) Close() error {
	p.cancel()
	p.wg.Wait()
	p.pool.Close()
	return nil
}

// listen opens the notice connection and subscribes it to the channel.
func (p *Postgres) listen(ctx context.Context, cfg *pgx.ConnConfig) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, cfg.Copy())
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	return conn, nil
}

// listenLoop publishes the notices of every process to the feed. When the connection breaks
// it reconnects (with a growing pause) and, once listening again, invalidates everything: the
// notices sent meanwhile are lost.
func (p *Postgres) listenLoop(cfg *pgx.ConnConfig, conn *pgx.Conn) {
	defer p.wg.Done()
	pause := 50 * time.Millisecond
	defer p.echo.releaseAll()
	for {
		p.echo.listening.Store(conn != nil)
		for conn != nil {
			n, err := conn.WaitForNotification(p.ctx)
			if err != nil {
				conn.Close(context.Background())
				conn = nil
				p.echo.listening.Store(false)
				p.echo.releaseAll()
				if p.ctx.Err() == nil {
					p.log.Warn("change notices: connection lost; reconnecting", "error", err)
				}
				break
			}
			pause = 50 * time.Millisecond
			topic, key, _ := strings.Cut(n.Payload, ":")
			p.feed.Publish(topic, key)
			p.echo.heard(n.Payload)
		}
		select {
		case <-p.ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, 5*time.Second)
		ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
		c, err := p.listen(ctx, cfg)
		cancel()
		if err != nil {
			continue
		}
		conn = c
		p.log.Info("change notices: listening again; caches invalidated")
		p.feed.PublishAll()
		p.echo.listening.Store(true)
	}
}

// sweepBatch is how many expired rows one statement of the sweeper deletes.
const sweepBatch = 500

// sweepLoop deletes expired rows every SweepInterval, in small batches (short transactions
// that do not hold up the others).
func (p *Postgres) sweepLoop() {
	defer p.wg.Done()
	t := time.NewTicker(p.opts.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
		}
		if _, err := p.Sweep(); err != nil && p.ctx.Err() == nil {
			p.log.Warn("sweeping expired keys failed", "error", err)
		}
	}
}

// Sweep deletes the expired rows now and returns how many it deleted.
func (p *Postgres) Sweep() (int64, error) {
	var total int64
	for p.ctx.Err() == nil {
		ctx, cancel := context.WithTimeout(p.ctx, p.opts.TxnTimeout)
		tag, err := p.pool.Exec(ctx, `DELETE FROM kv WHERE key IN
			(SELECT key FROM kv WHERE expires_at <= now() LIMIT $1)`, sweepBatch)
		cancel()
		if err != nil {
			return total, err
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < sweepBatch {
			break
		}
	}
	return total, nil
}

// pgTxn is one attempt of a transaction.
type pgTxn struct {
	ctx      context.Context
	tx       pgx.Tx
	readOnly bool
	// err is the first failed statement: the transaction is aborted after it.
	err     error
	hooks   []func()
	notices [][2]string
	echoes  []echoWaiter // the echoes of notices awaited after the commit
}

func (x *pgTxn) fail(err error) error {
	if err != nil && x.err == nil {
		x.err = pgFailure("", err)
	}
	return x.err
}

func (x *pgTxn) runHooks(feed *Feed) {
	for _, n := range x.notices {
		feed.Publish(n[0], n[1])
	}
	for _, fn := range x.hooks {
		fn()
	}
}

func (x *pgTxn) Get(key []byte) ([]byte, error) {
	if x.err != nil {
		return nil, x.err
	}
	var v []byte
	err := x.tx.QueryRow(x.ctx, `SELECT value FROM kv WHERE key = $1 AND (expires_at IS NULL OR expires_at > now())`, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, x.fail(err)
	}
	return v, nil
}

func (x *pgTxn) Set(key, value []byte, ttl time.Duration) error {
	var micros any // NULL: no expiry
	if ttl > 0 {
		micros = ttl.Microseconds()
	}
	if value == nil {
		value = []byte{} // an empty value, not NULL
	}
	return x.exec(`INSERT INTO kv (key, value, expires_at) VALUES ($1, $2, now() + $3::bigint * interval '1 microsecond')
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`, key, value, micros)
}

// SetExpiresAt implements ExpirySetter.
func (x *pgTxn) SetExpiresAt(key, value []byte, expiresAt time.Time) error {
	if value == nil {
		value = []byte{}
	}
	var at any
	if !expiresAt.IsZero() {
		at = expiresAt
	}
	return x.exec(`INSERT INTO kv (key, value, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`, key, value, at)
}

func (x *pgTxn) Delete(key []byte) error {
	return x.exec(`DELETE FROM kv WHERE key = $1`, key)
}

func (x *pgTxn) exec(sql string, args ...any) error {
	if x.err != nil {
		return x.err
	}
	if x.readOnly {
		return errors.New("store: write in a read-only transaction")
	}
	_, err := x.tx.Exec(x.ctx, sql, args...)
	return x.fail(err)
}

func (x *pgTxn) Scan(prefix []byte, fn func(key, value []byte) bool) error {
	return x.ScanExpiry(prefix, func(k, v []byte, _ time.Time) bool { return fn(k, v) })
}

// ScanFrom implements Seeker.
func (x *pgTxn) ScanFrom(prefix, start []byte, fn func(key, value []byte) bool) error {
	return x.scanRange(prefix, start, func(k, v []byte, _ time.Time) bool { return fn(k, v) })
}

// ScanExpiry implements ExpiryScanner. Rows are fetched in batches, so fn may use the
// transaction (a Get inside a Scan) between them.
func (x *pgTxn) ScanExpiry(prefix []byte, fn func(key, value []byte, expiresAt time.Time) bool) error {
	return x.scanRange(prefix, prefix, fn)
}

// scanRange scans the keys with prefix from the first key >= start.
func (x *pgTxn) scanRange(prefix, start []byte, fn func(key, value []byte, expiresAt time.Time) bool) error {
	if x.err != nil {
		return x.err
	}
	end := prefixEnd(prefix) // nil: no upper bound
	from, inclusive := prefix, true
	if string(start) > string(prefix) {
		from = start
	}
	if from == nil {
		from = []byte{} // every key (NULL would match none)
	}
	for {
		op := ">"
		if inclusive {
			op = ">="
		}
		rows, err := x.tx.Query(x.ctx, `SELECT key, value, expires_at FROM kv
			WHERE key `+op+` $1 AND ($2::bytea IS NULL OR key < $2)
			AND (expires_at IS NULL OR expires_at > now())
			ORDER BY key LIMIT `+fmt.Sprint(scanBatch), from, end)
		if err != nil {
			return x.fail(err)
		}
		type row struct {
			k, v []byte
			at   *time.Time
		}
		var batch []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.k, &r.v, &r.at); err != nil {
				rows.Close()
				return x.fail(err)
			}
			batch = append(batch, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return x.fail(err)
		}
		for _, r := range batch {
			var at time.Time
			if r.at != nil {
				at = *r.at
			}
			if !fn(r.k, r.v, at) {
				return nil
			}
		}
		if len(batch) < scanBatch {
			return nil
		}
		from, inclusive = batch[len(batch)-1].k, false
	}
}

func (x *pgTxn) AfterCommit(fn func()) { x.hooks = append(x.hooks, fn) }

func (x *pgTxn) Notify(topic, key string) {
	if x.readOnly {
		x.fail(errors.New("Notify in a read-only transaction"))
		return
	}
	if x.err != nil {
		return
	}
	if _, err := x.tx.Exec(x.ctx, `SELECT pg_notify($1, $2)`, notifyChannel, topic+":"+key); err != nil {
		x.fail(err)
		return
	}
	x.notices = append(x.notices, [2]string{topic, key})
}

// prefixEnd returns the smallest key greater than every key with prefix, or nil when there is
// none (an empty prefix, or one of 0xff bytes only).
func prefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// backoff is the jittered wait before retry attempt+1 of a conflicting transaction: up to 1 ms,
// doubling each attempt, at most 64 ms (about 1 s over every attempt), so a burst of writers
// that keep conflicting spreads out instead of retrying in step.
func backoff(attempt int) time.Duration {
	ceiling := time.Millisecond << min(attempt, 6)
	return time.Duration(rand.Int64N(int64(ceiling))) + 50*time.Microsecond
}
