// future.go - the result of a request, resolved once by the client's
// goroutine (or by its context, or a local timer).

package actors

import (
	"bytes"
	"context"
	"math"
	"sync"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// Future is the outcome of one request. Its methods are safe from any
// goroutine. Every future resolves: with the answer, an error reply, a
// local Timeout (the deadline plus LocalGrace), its context's error, or
// ErrClosed.
type Future struct {
	what     string
	rid      string
	deadline time.Time
	stop     func() bool // ends the context's AfterFunc; under mu

	once sync.Once
	done chan struct{}
	mu   sync.Mutex
	body []byte
	err  error
	cbs  []func(*Future)
}

func newFuture(what string) *Future {
	return &Future{what: what, done: make(chan struct{})}
}

func failed(what string, err error) *Future {
	f := newFuture(what)
	f.resolve(nil, err)
	return f
}

func (f *Future) resolve(body []byte, err error) {
	f.once.Do(func() {
		f.mu.Lock()
		f.body, f.err = body, err
		cbs, stop := f.cbs, f.stop
		f.cbs, f.stop = nil, nil
		close(f.done)
		f.mu.Unlock()
		if stop != nil {
			stop()
		}
		for _, cb := range cbs {
			cb(f)
		}
	})
}

func (f *Future) isDone() bool {
	select {
	case <-f.done:
		return true
	default:
		return false
	}
}

// Done is closed when the future has resolved.
func (f *Future) Done() <-chan struct{} { return f.done }

// Wait waits until the future resolves or ctx ends; it returns the
// future's error, or ctx's.
func (f *Future) Wait(ctx context.Context) error {
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Err waits for the future and returns its error (nil on success).
func (f *Future) Err() error {
	<-f.done
	return f.err
}

// Raw waits and returns the answer's msgpack body.
func (f *Future) Raw() ([]byte, error) {
	<-f.done
	return f.body, f.err
}

// Result waits and returns the answer decoded as Go values: nil, bool,
// int64 (uint64 above MaxInt64), float64, string, []byte, []any,
// map[string]any (map[any]any if a key is not a string).
func (f *Future) Result() (any, error) {
	<-f.done
	if f.err != nil {
		return nil, f.err
	}
	v, err := decodeAny(f.body)
	if err != nil {
		return nil, newError(ErrBadMsgpack, "", "%s: %v", f.what, err)
	}
	return v, nil
}

// Decode waits and decodes the answer into v (msgpack rules: a struct
// uses `msgpack:"name"` tags).
func (f *Future) Decode(v any) error {
	<-f.done
	if f.err != nil {
		return f.err
	}
	if err := msgpack.Unmarshal(f.body, v); err != nil {
		return newError(ErrBadMsgpack, "", "%s: %v", f.what, err)
	}
	return nil
}

// OnDone runs cb once the future has resolved: at once if it has, else
// on the client's goroutine, where it must not block (calling the client
// is fine).
func (f *Future) OnDone(cb func(*Future)) {
	f.mu.Lock()
	select {
	case <-f.done:
		f.mu.Unlock()
		cb(f)
		return
	default:
	}
	f.cbs = append(f.cbs, cb)
	f.mu.Unlock()
}

func decodeAny(b []byte) (any, error) {
	v, err := msgpack.NewDecoder(bytes.NewReader(b)).DecodeInterface()
	if err != nil {
		return nil, err
	}
	return normalize(v), nil
}

// normalize makes every integer an int64 (uint64 only above MaxInt64),
// every float a float64 and every map with string keys a map[string]any,
// whatever width the sender chose.
func normalize(v any) any {
	switch x := v.(type) {
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x)
		}
		return x
	case float32:
		return float64(x)
	case []any:
		for i := range x {
			x[i] = normalize(x[i])
		}
		return x
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			ks, ok := k.(string)
			if !ok {
				for k2, e2 := range x {
					x[k2] = normalize(e2)
				}
				return x
			}
			m[ks] = normalize(e)
		}
		return m
	}
	return v
}

// ActorInfo is what Lookup and Ls give for an address.
type ActorInfo struct {
	Address  string `msgpack:"address"`
	Service  string `msgpack:"service"`
	Pid      int64  `msgpack:"pid"`
	State    string `msgpack:"state"`
	Mailbox  int64  `msgpack:"mailbox"`
	Inflight int64  `msgpack:"inflight"`
	Handled  int64  `msgpack:"handled"`
	Node     string `msgpack:"node"`
	Restarts int64  `msgpack:"restarts"`
	Cause    string `msgpack:"cause"`
}

// SpawnResult is what Spawn gives.
type SpawnResult struct {
	Address     string `msgpack:"address"`
	Node        string `msgpack:"node"`
	Pid         int64  `msgpack:"pid"`
	Existed     bool   `msgpack:"existed"`
	Owner       []byte `msgpack:"owner"`
	HeartbeatMs int64  `msgpack:"heartbeat_ms"`
}

// KillResult is what Kill and Stop give: the cause of the exit, or, when
// the node had no process for the address, its state after the kill.
type KillResult struct {
	Address string `msgpack:"address"`
	Cause   string `msgpack:"cause"`
	State   string `msgpack:"state"`
}

// Event is one lifecycle event of Events.
type Event struct {
	ID       uint64 `msgpack:"id"`
	Ms       int64  `msgpack:"ms"`
	Node     string `msgpack:"node"`
	NodeID   uint64 `msgpack:"node_id"`
	Address  string `msgpack:"address"`
	Kind     string `msgpack:"kind"`
	Pid      int64  `msgpack:"pid"`
	Restarts int64  `msgpack:"restarts"`
	Cause    string `msgpack:"cause"`
}
