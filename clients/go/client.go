// Package actors is a Go client of the actors framework: the ACT2
// protocol (schemas/PROTOCOL.md) over one ZeroMQ DEALER connection to the
// broker, with many requests in flight matched by request id.
//
// One goroutine owns the socket; every method of Client may be called
// from any goroutine. Requests return a *Future, resolved by that
// goroutine when the answer comes.
//
// The goroutine also watches the connection (a ZeroMQ socket monitor). A
// handshake that follows a disconnect is a new connection (the broker
// restarted, or the connection was dropped): the broker knows it as a new
// peer with no subscription, so the goroutine sends the SUBSCRIBE of
// every live pattern again, with a new request id, as libactors does;
// requests pending meanwhile are left as they are (each gets its answer
// or its Timeout). Events published while the client was not connected
// are lost: delivery to a client is at most once.
//
// Refused connections: libzmq reconnects a dropped connection every
// ZMQ_RECONNECT_IVL (100 ms) for ever; it lengthens the interval only
// when a connect fails, and a broker out of descriptors accepts, then
// shuts the connection. So, as libactors does (schemas/PROTOCOL.md,
// "Descriptors"), a connection that drops before anything came over it
// counts as refused: the goroutine drops it (zmq_disconnect) and connects
// again after 100 ms, doubling at each refusal up to 5 s, plus up to half
// as much of random jitter; a message received resets the pace. What is
// sent meanwhile waits in the goroutine and leaves on the new
// connection; what libzmq had queued on the refused connection is lost
// (its calls time out). Refusals counts them.
//
// With CURVE keys, when the broker refuses the client's key, libzmq
// never tries again, so every request pending or made afterwards fails at
// once with ErrTimeout saying so, instead of waiting out its deadline.
package actors

import (
	"container/heap"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"sync"
	"sync/atomic"
	"time"

	zmq "github.com/pebbe/zmq4"
	"github.com/vmihailenco/msgpack/v5"
)

const (
	// DefaultEndpoint is the broker's default endpoint.
	DefaultEndpoint = "tcp://127.0.0.1:5555"
	// DefaultTimeout is the client-wide default deadline: actorctl's
	// (--timeout 30000).
	DefaultTimeout = 30 * time.Second
	// DefaultSpawnTimeout bounds how long a spawned actor may take to
	// register: libactors' 10000 ms.
	DefaultSpawnTimeout = 10 * time.Second
	// LocalGrace is how long after a request's deadline the client stops
	// waiting for the broker's own answer and fails it with Timeout.
	LocalGrace = time.Second
	// DefaultMaxMessage is the broker's default --max-message: a larger
	// args frame would make the broker close the connection unread.
	DefaultMaxMessage = 16 << 20

	hwm = 100000
	// what the socket may take at Close to send what was queued before
	// it (libactors' ACTORS__LINGER_MS): a tell just before Close leaves
	linger    = time.Second
	recvBatch = 512

	// KnockMin is the first wait after a refused connection, KnockMax the
	// longest (before jitter): libactors' ACTORS__KNOCK_MIN_MS/MAX_MS.
	KnockMin = 100 * time.Millisecond
	KnockMax = 5 * time.Second
)

// Options of a Client. The zero value connects to $ACTORS_BROKER (else
// DefaultEndpoint) without CURVE and with DefaultTimeout.
type Options struct {
	// Endpoint of the broker; "": $ACTORS_BROKER, else DefaultEndpoint.
	Endpoint string
	// Key is the path of this client's czmq secret certificate file;
	// "": $ACTORS_KEY. With BrokerKey it makes the connection CURVE.
	Key string
	// BrokerKey is the path of the broker's public certificate file (or
	// its Z85 public key); "": $ACTORS_BROKER_KEY. Both or neither.
	BrokerKey string
	// Timeout is the default deadline of every request; 0:
	// DefaultTimeout; negative: none.
	Timeout time.Duration
	// MaxMessage is the broker's --max-message; 0: DefaultMaxMessage.
	// Larger arguments fail at once with ErrTooLarge instead of costing
	// the connection (the broker closes it unread, with no answer).
	MaxMessage int
}

// CallOptions of one call or tell.
type CallOptions struct {
	// Timeout of this call; 0: the context's deadline if it has one,
	// else the client's; negative: none.
	Timeout time.Duration
	// Key is the call key (1..255 bytes, not starting with a zero byte):
	// every copy of a call re-sent after a Timeout carries the same one,
	// so that a journaled actor applies it once.
	Key string
}

// Client is a connection to a broker. Safe for concurrent use.
type Client struct {
	endpoint string
	timeout  time.Duration
	maxMsg   int
	curve    bool
	ids      atomic.Uint64

	mu          sync.Mutex
	outbox      []outItem
	wakePending bool
	closing     bool

	ctx   *zmq.Context
	sock  *zmq.Socket
	wakeR *zmq.Socket
	wakeW *zmq.Socket
	mon   *zmq.Socket // the connection events of sock
	done  chan struct{}

	// pattern -> its Subscriptions; subMu is taken before mu when both
	// are, never the other way round
	subMu sync.Mutex
	subs  map[string][]*Subscription

	// the I/O goroutine's own
	handshakeOK       bool
	lost              bool // a disconnect seen, no handshake since
	handshakeFailures int
	probed            bool   // asked the broker's mechanism once (brokerWantsCurve)
	refused           string // why the broker refused our key ("" if not)
	// the reconnection pace (see the package doc, Refused connections)
	received uint64        // messages read from the broker
	rxMark   uint64        // received at the last drop
	knock    time.Duration // the current pace; 0: not refused
	knockAt  time.Time     // when to connect again; zero: connected
	refusals atomic.Uint64 // connections refused so far
}

const (
	monitorEndpoint = "inproc://actors-client-monitor"
	handshakeFailed = zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL |
		zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
)

type outItem struct {
	frames [][]byte
	rid    string
	req    *Future
}

// New connects a Client (ZeroMQ connects in the background: a broker
// that is not there yet is no error). Errors: ErrInvalidArgument (keys,
// an endpoint ZeroMQ cannot take).
func New(opts Options) (*Client, error) {
	c := &Client{endpoint: opts.Endpoint, timeout: opts.Timeout, done: make(chan struct{})}
	if c.endpoint == "" {
		c.endpoint = os.Getenv("ACTORS_BROKER")
	}
	if c.endpoint == "" {
		c.endpoint = DefaultEndpoint
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	c.maxMsg = opts.MaxMessage
	if c.maxMsg <= 0 {
		c.maxMsg = DefaultMaxMessage
	}
	key, bkey := opts.Key, opts.BrokerKey
	if key == "" {
		key = os.Getenv("ACTORS_KEY")
	}
	if bkey == "" {
		bkey = os.Getenv("ACTORS_BROKER_KEY")
	}
	var pub, sec, server string
	if key != "" || bkey != "" {
		if key == "" || bkey == "" {
			return nil, newError(ErrInvalidArgument, "", "CURVE needs both Key and BrokerKey")
		}
		if !zmq.HasCurve() {
			return nil, newError(ErrInvalidArgument, "", "this libzmq has no CURVE support")
		}
		var err error
		if pub, sec, err = LoadCert(key); err != nil {
			return nil, err
		}
		if sec == "" {
			return nil, newError(ErrInvalidArgument, "", "%s is not a secret certificate", key)
		}
		if server, err = loadPublic(bkey); err != nil {
			return nil, err
		}
		c.curve = true
	}
	if err := c.open(pub, sec, server); err != nil {
		if c.ctx != nil {
			c.ctx.Term()
		}
		return nil, newError(ErrInvalidArgument, "", "cannot connect to %q: %v", c.endpoint, err)
	}
	go c.run()
	return c, nil
}

func (c *Client) open(pub, sec, server string) (err error) {
	if c.ctx, err = zmq.NewContext(); err != nil {
		return err
	}
	mk := func(t zmq.Type) *zmq.Socket {
		if err != nil {
			return nil
		}
		var s *zmq.Socket
		if s, err = c.ctx.NewSocket(t); err == nil {
			err = s.SetLinger(0)
		}
		return s
	}
	c.sock = mk(zmq.DEALER)
	if err == nil {
		err = c.sock.SetLinger(linger)
	}
	c.wakeR = mk(zmq.PAIR)
	c.wakeW = mk(zmq.PAIR)
	for _, f := range []func() error{
		func() error { return c.sock.SetSndhwm(hwm) },
		func() error { return c.sock.SetRcvhwm(hwm) },
		func() error {
			if !c.curve {
				return nil
			}
			if e := c.sock.SetCurvePublickey(pub); e != nil {
				return e
			}
			if e := c.sock.SetCurveSecretkey(sec); e != nil {
				return e
			}
			return c.sock.SetCurveServerkey(server)
		},
		func() error {
			// watched before connecting: the first handshake is no news;
			// one after a disconnect is a new connection (resubscribe), a
			// failed one CURVE's news
			e := c.sock.Monitor(monitorEndpoint, zmq.EVENT_DISCONNECTED|
				zmq.EVENT_HANDSHAKE_SUCCEEDED|handshakeFailed)
			if e == nil {
				c.mon = mk(zmq.PAIR)
				e = err
			}
			if e == nil {
				e = c.mon.Connect(monitorEndpoint)
			}
			return e
		},
		func() error { return c.sock.Connect(c.endpoint) },
		func() error { return c.wakeR.Bind("inproc://actors-client-wake") },
		func() error { return c.wakeW.Connect("inproc://actors-client-wake") },
	} {
		if err != nil {
			break
		}
		err = f()
	}
	if err != nil {
		for _, s := range []*zmq.Socket{c.sock, c.wakeR, c.wakeW, c.mon} {
			if s != nil {
				s.Close()
			}
		}
	}
	return err
}

// Endpoint returns the broker endpoint.
func (c *Client) Endpoint() string { return c.endpoint }

// Curve tells whether the connection uses CURVE.
func (c *Client) Curve() bool { return c.curve }

// Close stops the client's goroutine and closes the connection. What was
// sent before still leaves (a TellNowait just before Close arrives; the
// socket lingers up to 1 s for it); pending futures fail with ErrClosed;
// the broker stops the actors this client spawned without Detached.
// Idempotent; not from inside an OnDone callback.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		<-c.done
		return nil
	}
	c.closing = true
	c.wakeW.SendBytes(nil, zmq.DONTWAIT)
	c.mu.Unlock()
	<-c.done
	c.wakeW.Close()
	return c.ctx.Term()
}

func (c *Client) rid() string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], c.ids.Add(1))
	return string(b[:])
}

// deadline picks a request's timeout: explicit, else ctx's, else the client's.
func (c *Client) deadline(ctx context.Context, t time.Duration) time.Duration {
	if t != 0 {
		return t
	}
	if d, ok := ctx.Deadline(); ok {
		if r := time.Until(d); r > 0 {
			return r
		}
		return time.Millisecond
	}
	return c.timeout
}

func (c *Client) packArgs(args []any) ([]byte, error) {
	if args == nil {
		args = []any{}
	}
	b, err := msgpack.Marshal(args)
	if err != nil {
		return nil, newError(ErrInvalidArgument, "", "cannot encode arguments: %v", err)
	}
	if len(b) > c.maxMsg {
		return nil, newError(ErrTooLarge, "", "arguments of %d bytes exceed MaxMessage (%d)", len(b), c.maxMsg)
	}
	return b, nil
}

func checkKey(k string) error {
	if k != "" && (len(k) > 255 || k[0] == 0) {
		return newError(ErrInvalidArgument, "", "a call key must be 1..255 bytes, not starting with a zero byte")
	}
	return nil
}

// Call calls address.method(args...). The context's deadline (else the
// client's Timeout) is the call's deadline, sent to the broker, which
// answers ErrTimeout when it passes; cancelling ctx fails the future with
// ctx's error (the call itself is not taken back).
func (c *Client) Call(ctx context.Context, address, method string, args ...any) *Future {
	return c.CallWith(ctx, CallOptions{}, address, method, args...)
}

// CallWith is Call with options (a deadline of its own, a call key).
func (c *Client) CallWith(ctx context.Context, o CallOptions, address, method string, args ...any) *Future {
	what := "call " + address + "." + method
	t := c.deadline(ctx, o.Timeout)
	n, err := names(address, method)
	if err == nil {
		err = checkKey(o.Key)
	}
	var body []byte
	if err == nil {
		body, err = c.packArgs(args)
	}
	if err != nil {
		return failed(what, err)
	}
	rid := c.rid()
	frames := [][]byte{header(cmdCall, []byte(rid), timeoutMs(t), n), body}
	if o.Key != "" {
		frames = append(frames, []byte(o.Key))
	}
	local := time.Duration(0)
	if t > 0 {
		local = t + LocalGrace
	}
	return c.request(ctx, frames, rid, local, what)
}

// Tell sends address.method(args...) one way. The future resolves (to
// nil) once the broker has accepted the message, or fails if it refused
// it (ErrNoSuchActor, ErrActorDead, ErrMailboxFull, ErrTooLarge, ...); it
// does not say the actor has handled it.
func (c *Client) Tell(ctx context.Context, address, method string, args ...any) *Future {
	return c.TellWith(ctx, CallOptions{}, address, method, args...)
}

// TellWith is Tell with a call key.
func (c *Client) TellWith(ctx context.Context, o CallOptions, address, method string, args ...any) *Future {
	what := "tell " + address + "." + method
	frames, err := c.tellFrames(address, method, o.Key, args)
	if err != nil {
		return failed(what, err)
	}
	rid := c.rid()
	frames[0] = header(cmdTell, []byte(rid), 0, frames[0])
	return c.request(ctx, frames, rid, c.local(ctx), what)
}

// TellNowait sends address.method(args...) fire and forget: with an
// empty request id, which the broker never answers, not even with an
// error. The error is about the arguments only (or ErrClosed).
func (c *Client) TellNowait(address, method string, args ...any) error {
	frames, err := c.tellFrames(address, method, "", args)
	if err != nil {
		return err
	}
	frames[0] = header(cmdTell, nil, 0, frames[0])
	return c.submit(outItem{frames: frames})
}

func (c *Client) tellFrames(address, method, key string, args []any) ([][]byte, error) {
	n, err := names(address, method)
	if err == nil {
		err = checkKey(key)
	}
	var body []byte
	if err == nil {
		body, err = c.packArgs(args)
	}
	if err != nil {
		return nil, err
	}
	frames := [][]byte{n, body}
	if key != "" {
		frames = append(frames, []byte(key))
	}
	return frames, nil
}

func (c *Client) local(ctx context.Context) time.Duration {
	t := c.deadline(ctx, 0)
	if t < 0 {
		return 0
	}
	return t
}

func (c *Client) simple(ctx context.Context, cmd byte, what string, frames ...[]byte) *Future {
	rid := c.rid()
	all := append([][]byte{header(cmd, []byte(rid), 0, nil)}, frames...)
	return c.request(ctx, all, rid, c.local(ctx), what)
}

// Lookup asks the broker about address: an ActorInfo (Decode into one),
// or ErrNoSuchActor.
func (c *Client) Lookup(ctx context.Context, address string) *Future {
	if err := checkName(address, "address"); err != nil {
		return failed("lookup", err)
	}
	return c.simple(ctx, cmdLookup, "lookup "+address, []byte(address))
}

// Ls lists every address the broker knows: a []ActorInfo.
func (c *Client) Ls(ctx context.Context) *Future {
	return c.simple(ctx, cmdList, "list")
}

// Ping asks the broker for its health map (protocol, version, uptime_ms,
// actors, ...).
func (c *Client) Ping(ctx context.Context) *Future {
	return c.simple(ctx, cmdPing, "ping")
}

// Events asks for the lifecycle events with an id above since: a []Event.
func (c *Client) Events(ctx context.Context, since uint64) *Future {
	q, _ := msgpack.Marshal(map[string]any{"since": since})
	return c.simple(ctx, cmdEvents, "events", q)
}

// Kill kills the actor at once (SIGKILL); with restart its policy decides
// whether it comes back, without it is gone for good. The future resolves
// to a KillResult once the process has exited.
func (c *Client) Kill(ctx context.Context, address string, restart bool) *Future {
	return c.kill(ctx, address, restart, false)
}

// Stop stops the actor gracefully (SIGTERM, its grace_ms, then SIGKILL);
// it is not restarted.
func (c *Client) Stop(ctx context.Context, address string) *Future {
	return c.kill(ctx, address, false, true)
}

func (c *Client) kill(ctx context.Context, address string, restart, graceful bool) *Future {
	if err := checkName(address, "address"); err != nil {
		return failed("kill", err)
	}
	o, _ := msgpack.Marshal(map[string]any{"restart": restart, "graceful": graceful})
	return c.simple(ctx, cmdKill, "kill "+address, []byte(address), o)
}

// SpawnOptions of a spawn (schemas/PROTOCOL.md, SPAWN).
type SpawnOptions struct {
	Service        string   // the service's binary name; required
	Name           string   // the address; "": SERVICE/xxxxxxxx
	Args           []any    // constructor arguments, each passed as JSON text
	Node           string   // "": the node with the fewest actors
	Detached       bool     // false: owned, stopped when this client goes
	GetIfExists    bool     // Name taken: the existing actor, no error
	MaxRestarts    int      // 0 never, N, -1 forever
	MaxTaskRetries int      // re-deliveries of a call in flight at a crash
	Env            []string // "KEY=VALUE" for the process
	// Timeout for the actor to register; 0: DefaultSpawnTimeout.
	Timeout time.Duration
	// Extra spec keys (intensity, period_ms, grace_ms, prefetch, ...).
	Extra map[string]any
}

// Spawn starts an actor on a node. The future resolves to a SpawnResult
// once it has registered; ErrNameTaken, ErrNoSuchNode, ErrSpawnFailed,
// ErrTimeout.
func (c *Client) Spawn(ctx context.Context, o SpawnOptions) *Future {
	spec := map[string]any{}
	for k, v := range o.Extra {
		spec[k] = v
	}
	args := make([]string, 0, len(o.Args))
	for _, a := range o.Args {
		b, err := json.Marshal(a)
		if err != nil {
			return failed("spawn", newError(ErrInvalidArgument, "", "constructor argument: %v", err))
		}
		args = append(args, string(b))
	}
	spec["service"] = o.Service
	spec["args"] = args
	spec["detached"] = o.Detached
	spec["get_if_exists"] = o.GetIfExists
	spec["max_restarts"] = o.MaxRestarts
	spec["max_task_retries"] = o.MaxTaskRetries
	if o.Name != "" {
		spec["name"] = o.Name
	}
	if o.Node != "" {
		spec["node"] = o.Node
	}
	if len(o.Env) > 0 {
		spec["env"] = o.Env
	}
	body, err := msgpack.Marshal(spec)
	if err != nil {
		return failed("spawn", newError(ErrInvalidArgument, "", "spec: %v", err))
	}
	t := o.Timeout
	if t == 0 {
		t = DefaultSpawnTimeout
	}
	rid := c.rid()
	frames := [][]byte{header(cmdSpawn, []byte(rid), timeoutMs(t), nil), body}
	return c.request(ctx, frames, rid, t+LocalGrace, "spawn "+o.Service)
}

func (c *Client) request(ctx context.Context, frames [][]byte, rid string, wait time.Duration, what string) *Future {
	f := newFuture(what)
	f.rid = rid
	if wait > 0 {
		f.deadline = time.Now().Add(wait)
	}
	if ctx != nil && ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { f.resolve(nil, ctx.Err()) })
		f.mu.Lock()
		if f.isDone() {
			stop()
		} else {
			f.stop = stop
		}
		f.mu.Unlock()
	}
	if err := c.submit(outItem{frames: frames, rid: rid, req: f}); err != nil {
		f.resolve(nil, err)
	}
	return f
}

func (c *Client) submit(it outItem) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return newError(ErrClosed, "", "the client is closed")
	}
	c.outbox = append(c.outbox, it)
	if !c.wakePending {
		c.wakePending = true
		c.wakeW.SendBytes(nil, zmq.DONTWAIT)
	}
	return nil
}

// ---------------------------------------------------------------- I/O

type timerHeap []*Future

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].deadline.Before(h[j].deadline) }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(*Future)) }
func (h *timerHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func isAgain(err error) bool {
	return zmq.AsErrno(err) == zmq.Errno(11) // EAGAIN
}

func (c *Client) run() {
	defer close(c.done)
	pending := map[string]*Future{}
	timers := &timerHeap{}
	var backlog [][][]byte
	poller := zmq.NewPoller()
	poller.Add(c.sock, zmq.POLLIN)
	poller.Add(c.wakeR, zmq.POLLIN)
	if c.mon != nil {
		poller.Add(c.mon, zmq.POLLIN)
	}
	pollout := false
	defer func() {
		c.mu.Lock()
		c.closing = true
		items := c.outbox
		c.outbox = nil
		c.mu.Unlock()
		for _, it := range items {
			if it.req != nil {
				pending[it.rid] = it.req
			}
		}
		for _, f := range pending {
			f.resolve(nil, newError(ErrClosed, "", "the client was closed"))
		}
		c.endSubs(func(string) error { return newError(ErrClosed, "", "the client was closed") })
		if c.mon != nil {
			c.mon.Close()
		}
		c.sock.Close()
		c.wakeR.Close()
	}()
	for {
		timeout := time.Duration(-1)
		if timers.Len() > 0 {
			timeout = time.Until((*timers)[0].deadline)
		}
		if !c.knockAt.IsZero() {
			if k := time.Until(c.knockAt); timeout < 0 || k < timeout {
				timeout = k
			}
		}
		if timeout < 0 && (timers.Len() > 0 || !c.knockAt.IsZero()) {
			timeout = 0
		}
		polled, err := poller.Poll(timeout)
		if err != nil && zmq.AsErrno(err) == zmq.ETERM {
			return
		}
		sockIn := false
		for _, p := range polled {
			switch p.Socket {
			case c.wakeR:
				for {
					if _, err := c.wakeR.RecvBytes(zmq.DONTWAIT); err != nil {
						break
					}
				}
			case c.sock:
				sockIn = p.Events&zmq.POLLIN != 0
			case c.mon:
				c.monitor(pending)
			}
		}
		if !c.knockAt.IsZero() && !time.Now().Before(c.knockAt) {
			c.reconnect()
		}
		c.mu.Lock()
		c.wakePending = false
		closing := c.closing
		items := c.outbox
		c.outbox = nil
		c.mu.Unlock()
		if closing {
			// send what was queued before Close (its futures fail with
			// ErrClosed: no answer will be read)
			for _, f := range backlog {
				if !sendFrames(c.sock, f) {
					break
				}
			}
			for _, it := range items {
				if !sendFrames(c.sock, it.frames) {
					break
				}
				if it.req != nil {
					pending[it.rid] = it.req
				}
			}
			return
		}
		for _, it := range items {
			if c.refused != "" {
				// never sent: the broker refused our key
				if it.req != nil {
					it.req.resolve(nil, newError(ErrTimeout, "", "%s: %s", it.req.what, c.refused))
				}
				continue
			}
			if it.req != nil {
				if it.req.isDone() {
					continue // its context ended before it was sent
				}
				pending[it.rid] = it.req
				if !it.req.deadline.IsZero() {
					heap.Push(timers, it.req)
				}
			}
			backlog = append(backlog, it.frames)
		}
		// while refused, what is sent waits here (parked)
		for len(backlog) > 0 && c.knockAt.IsZero() {
			if !sendFrames(c.sock, backlog[0]) {
				break
			}
			backlog[0] = nil
			backlog = backlog[1:]
		}
		if want := len(backlog) > 0 && c.knockAt.IsZero(); want != pollout {
			pollout = want
			ev := zmq.POLLIN
			if pollout {
				ev |= zmq.POLLOUT
			}
			poller.Update(0, ev)
		}
		if sockIn {
			for i := 0; i < recvBatch; i++ {
				msg, err := c.sock.RecvMessageBytes(zmq.DONTWAIT)
				if err != nil {
					break
				}
				c.received++
				c.answer(pending, msg)
			}
		}
		now := time.Now()
		for timers.Len() > 0 && !(*timers)[0].deadline.After(now) {
			f := heap.Pop(timers).(*Future)
			if pending[f.rid] == f {
				delete(pending, f.rid)
				f.resolve(nil, newError(ErrTimeout, "", "%s: no answer from the broker at %s%s", f.what, c.endpoint, c.curveHint()))
			}
		}
	}
}

// sendFrames sends one message without blocking; false if the socket's
// queue is full (nothing was sent).
func sendFrames(s *zmq.Socket, frames [][]byte) bool {
	for i, f := range frames {
		flags := zmq.DONTWAIT
		if i < len(frames)-1 {
			flags |= zmq.SNDMORE
		}
		if _, err := s.SendBytes(f, flags); err != nil {
			if i == 0 && isAgain(err) {
				return false
			}
			// later parts of an accepted message do not fail with EAGAIN
			return true
		}
	}
	return true
}

func (c *Client) curveHint() string {
	switch {
	case !c.curve || c.handshakeOK:
		return ""
	case c.handshakeFailures > 0:
		return fmt.Sprintf("; the CURVE handshake with it failed %d time(s): is BrokerKey the broker's public key?", c.handshakeFailures)
	}
	return "; no CURVE handshake with it has completed yet"
}

// monitor reads the socket monitor's connection events.
func (c *Client) monitor(pending map[string]*Future) {
	for {
		ev, _, value, err := c.mon.RecvEvent(zmq.DONTWAIT)
		if err != nil {
			return
		}
		switch {
		case ev == zmq.EVENT_DISCONNECTED:
			c.lost = true
			c.dropped()
		case ev == zmq.EVENT_HANDSHAKE_SUCCEEDED:
			c.handshakeOK = true
			if c.lost {
				c.lost = false
				c.resubscribe()
			}
		case ev == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
			if c.refused == "" {
				c.refuse(pending, fmt.Sprintf("no answer will come: the broker at %s refused this client's CURVE key in the handshake (ZAP status %d): its public key is not in the broker's allowlist (--keys DIR)", c.endpoint, value))
			}
		case ev == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL && !c.curve && !c.handshakeOK:
			// No keys here, CURVE there: libzmq does not try again.
			if c.refused == "" {
				c.refuse(pending, c.needsKeys())
			}
		case ev == zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL && !c.curve && !c.handshakeOK && c.refused == "" && !c.probed:
			// Dropped: a broker that wants CURVE and saw the mismatch
			// first (a race some machines always lose), or one out of
			// descriptors; its greeting tells which (once).
			c.probed = true
			if brokerWantsCurve(c.ctx, c.endpoint, 500*time.Millisecond) {
				c.refuse(pending, c.needsKeys())
			} else {
				c.handshakeFailures++
			}
		case ev&handshakeFailed != 0:
			c.handshakeFailures++
		}
	}
}

// needsKeys is the refusal of a plain client by a broker that wants CURVE.
func (c *Client) needsKeys() string {
	return fmt.Sprintf("no answer will come: the broker at %s requires CURVE keys and this client has none (Options.Key and Options.BrokerKey, or ACTORS_KEY and ACTORS_BROKER_KEY)", c.endpoint)
}

// greeting is the start of a ZMTP 3.0 greeting (RFC 23): signature and
// major version. A libzmq peer answers with the rest of its own: minor
// version, then its mechanism, 20 bytes NUL-padded, at offset 12.
var greeting = []byte{0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3}

// brokerWantsCurve tells whether the broker at endpoint speaks CURVE,
// read from the greeting it sends on a fresh connection (a ZMQ_STREAM
// socket) within timeout; false if it cannot tell (libactors does the
// same).
func brokerWantsCurve(ctx *zmq.Context, endpoint string, timeout time.Duration) bool {
	s, err := ctx.NewSocket(zmq.STREAM)
	if err != nil {
		return false
	}
	defer s.Close()
	s.SetLinger(0)
	if s.Connect(endpoint) != nil {
		return false
	}
	poller := zmq.NewPoller()
	poller.Add(s, zmq.POLLIN)
	var got []byte
	sent := false
	end := time.Now().Add(timeout)
	for len(got) < 32 {
		left := time.Until(end)
		if left <= 0 {
			break
		}
		if ready, err := poller.Poll(left); err != nil || len(ready) == 0 {
			break
		}
		parts, err := s.RecvMessageBytes(0)
		if err != nil || len(parts) != 2 {
			break
		}
		switch {
		case len(parts[1]) > 0:
			got = append(got, parts[1]...)
		case sent:
			return false // it closed
		default: // connected
			if _, err := s.SendMessage(parts[0], greeting); err != nil {
				return false
			}
			sent = true
		}
	}
	return len(got) >= 32 && got[0] == 0xff && got[9] == 0x7f && string(got[12:18]) == "CURVE\x00"
}

// dropped: the connection dropped. Nothing came over it since the last
// drop: refused, so drop the endpoint and connect again after the next
// wait (100 ms doubling to 5 s, plus jitter).
func (c *Client) dropped() {
	refused := c.received == c.rxMark
	c.rxMark = c.received
	if !refused {
		c.knock = 0 // it had served: libzmq reconnects at once
		return
	}
	if !c.knockAt.IsZero() || c.refused != "" {
		return // already waiting; or our key refused: nothing to send
	}
	if c.knock == 0 {
		c.knock = KnockMin
	} else if c.knock *= 2; c.knock > KnockMax {
		c.knock = KnockMax
	}
	// Stops libzmq's own reconnecting, every 100 ms; with a linger the
	// session would go on to deliver what it holds.
	c.sock.SetLinger(0)
	err := c.sock.Disconnect(c.endpoint)
	c.sock.SetLinger(linger)
	if err != nil {
		return // libzmq keeps its pace
	}
	wait := c.knock + time.Duration(rand.Int63n(int64(c.knock/2)+1))
	c.knockAt = time.Now().Add(wait)
	c.refusals.Add(1)
}

// reconnect: the wait after a refusal is over: connect again (the loop
// then sends what waited).
func (c *Client) reconnect() {
	c.knockAt = time.Time{}
	c.sock.Connect(c.endpoint)
}

// Refusals is how many times the broker refused or dropped this client's
// connection before anything came over it (each followed by a longer
// wait before it connects again). Safe for concurrent use.
func (c *Client) Refusals() uint64 { return c.refusals.Load() }

// refuse: the broker refused our key (ZAP status), or this client has no
// keys and the broker wants CURVE (why says which). libzmq does not try
// again on this connection: fail what waits, now.
func (c *Client) refuse(pending map[string]*Future, why string) {
	c.refused = why
	for rid, f := range pending {
		delete(pending, rid)
		f.resolve(nil, newError(ErrTimeout, "", "%s: %s", f.what, c.refused))
	}
	c.endSubs(func(p string) error { return newError(ErrTimeout, "", "subscribe %s: %s", p, c.refused) })
}

func (c *Client) answer(pending map[string]*Future, msg [][]byte) {
	if len(msg) > 0 && len(msg[0]) == 0 {
		msg = msg[1:] // a delimiter (we send none; tolerate one)
	}
	if len(msg) < 2 {
		return
	}
	cmd, rid, ok := parseHeader(msg[0])
	if !ok {
		return
	}
	if cmd == cmdPublication {
		c.publication(msg)
		return
	}
	f := pending[string(rid)]
	if f == nil {
		return // late, after our own Timeout, or an empty id
	}
	delete(pending, string(rid))
	switch cmd {
	case cmdReply:
		f.resolve(msg[1], nil)
	case cmdError:
		v, err := decodeAny(msg[1])
		if err != nil {
			f.resolve(nil, newError(ErrBadMsgpack, "", "%s: undecodable error reply: %v", f.what, err))
			return
		}
		f.resolve(nil, errorFromBody(v))
	default:
		f.resolve(nil, newError(ErrBadRequest, "", "%s: unexpected command 0x%02x in answer", f.what, cmd))
	}
}

func (c *Client) String() string { return fmt.Sprintf("actors.Client(%s)", c.endpoint) }
