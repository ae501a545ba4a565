// pubsub.go - publishing events and a client's subscriptions
// (schemas/PROTOCOL.md, "Publish/subscribe"; the C API is libactors'
// actors/pubsub.h).
//
// The client keeps one broker subscription per pattern and hands each
// PUBLICATION to every Subscription of that pattern (the PUBLICATION
// names the pattern it matched). Delivery to a client is at most once:
// an event is lost if the client does not read (the broker's queue for
// it is full), if a Subscription's channel is full (counted in Dropped),
// or if it was published before the broker confirmed the subscription
// (Ready). On a new connection to the broker (it restarted) the client
// subscribes every live pattern again (resubscribe); events published
// while it was not connected are lost.

package actors

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/vmihailenco/msgpack/v5"
)

const (
	// Lifecycle is the pattern of every lifecycle event the broker
	// publishes (actors.lifecycle.<kind>.<address or node>).
	Lifecycle = "actors.lifecycle.>"
	// DefaultQueue is how many events a Subscription's channel holds
	// (libactors' ACTORS_SUBSCRIPTION_QUEUE); more are counted in Dropped.
	DefaultQueue = 10000
)

// Publication is one event: the topic it was published on, the pattern
// of the subscription it matched, and the published value as msgpack.
type Publication struct {
	Topic   string
	Pattern string
	Data    []byte
}

// Value decodes the event's data as Future.Result does.
func (e Publication) Value() (any, error) {
	v, err := decodeAny(e.Data)
	if err != nil {
		return nil, newError(ErrBadMsgpack, "", "event on %s: %v", e.Topic, err)
	}
	return v, nil
}

// Decode decodes the event's data into v (msgpack rules).
func (e Publication) Decode(v any) error {
	if err := msgpack.Unmarshal(e.Data, v); err != nil {
		return newError(ErrBadMsgpack, "", "event on %s: %v", e.Topic, err)
	}
	return nil
}

// Subscription is a subscription of one client to one pattern, made by
// Client.Subscribe. Its methods are safe from any goroutine; its events
// come through one channel, in the order the broker sent them (one
// publisher's in the order published), read with C or Next.
type Subscription struct {
	c       *Client
	pattern string
	ready   *Future
	ch      chan Publication

	mu  sync.Mutex // guards err and sends on / the close of ch
	err error      // why it ended; nil while it lasts

	received atomic.Uint64
	dropped  atomic.Uint64
}

// Pattern returns the subscription's pattern.
func (s *Subscription) Pattern() string { return s.pattern }

// Ready is resolved when the broker has the subscription (an int64: 1,
// or 0 if this client's connection had the pattern already), or failed
// with the broker's refusal (ErrBadRequest, ErrMailboxFull) or
// ErrTimeout; the subscription then ends with that error.
func (s *Subscription) Ready() *Future { return s.ready }

// C is the channel of the subscription's events. It is closed when the
// subscription ends (Err says why); events still in it are discarded
// then.
func (s *Subscription) C() <-chan Publication { return s.ch }

// Next waits for the next event. Once the subscription has ended it
// returns Err() (ErrClosed after Unsubscribe or Client.Close, the
// broker's refusal otherwise); when ctx ends first, ctx's error.
func (s *Subscription) Next(ctx context.Context) (Publication, error) {
	select {
	case ev, ok := <-s.ch:
		if ok {
			return ev, nil
		}
		return Publication{}, s.Err()
	case <-ctx.Done():
		return Publication{}, ctx.Err()
	}
}

// Err returns why the subscription ended, nil while it lasts.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Received counts the events put into the channel; Dropped those that
// found it full.
func (s *Subscription) Received() uint64 { return s.received.Load() }

// Dropped counts the events lost because the channel was full.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Unsubscribe ends the subscription: its channel is closed (events in it
// are discarded) and the broker is told when no other Subscription of
// this client has the pattern. The future resolves to the broker's
// answer (int64 1 if it had the subscription, 0 if not); to 0 at once
// when nothing was sent (already ended, another Subscription of the
// pattern remains, the client is closed). Idempotent.
func (s *Subscription) Unsubscribe(ctx context.Context) *Future {
	return s.c.unsubscribe(ctx, s, nil, true)
}

// deliver is the I/O goroutine's: one event, never blocking.
func (s *Subscription) deliver(ev Publication) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return
	}
	select {
	case s.ch <- ev:
		s.received.Add(1)
	default:
		s.dropped.Add(1)
	}
}

// end ends the subscription with err (once).
func (s *Subscription) end(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return
	}
	s.err = err
drain:
	for {
		select {
		case <-s.ch:
		default:
			break drain
		}
	}
	close(s.ch)
}

func (c *Client) packBody(v any, what string) ([]byte, error) {
	b, err := msgpack.Marshal(v)
	if err != nil {
		return nil, newError(ErrInvalidArgument, "", "cannot encode %s: %v", what, err)
	}
	if len(b) > c.maxMsg {
		return nil, newError(ErrTooLarge, "", "%s of %d bytes exceed MaxMessage (%d)", what, len(b), c.maxMsg)
	}
	return b, nil
}

// Publish publishes data (any msgpack value; nil for none) on topic
// (dot-separated segments, no "*" or ">" segment; topics under
// "actors." are the broker's). The future resolves to the number of
// subscriptions the broker routed it to (an int64; a full mailbox or a
// client it could not send to is not counted). An invalid topic fails
// with ErrInvalidArgument, data over MaxMessage with ErrTooLarge, before
// anything is sent.
func (c *Client) Publish(ctx context.Context, topic string, data any) *Future {
	what := "publish " + topic
	if err := checkTopic(topic, false); err != nil {
		return failed(what, err)
	}
	body, err := c.packBody(data, "data")
	if err != nil {
		return failed(what, err)
	}
	rid := c.rid()
	frames := [][]byte{header(cmdPublish, []byte(rid), 0, topicTail(topic)), body}
	return c.request(ctx, frames, rid, c.local(ctx), what)
}

// PublishNowait publishes fire and forget, with an empty request id,
// which the broker does not answer (it would answer only a malformed
// publish, and the client checks the topic and size first). The error is
// about the arguments only (or ErrClosed).
func (c *Client) PublishNowait(topic string, data any) error {
	if err := checkTopic(topic, false); err != nil {
		return err
	}
	body, err := c.packBody(data, "data")
	if err != nil {
		return err
	}
	return c.submit(outItem{frames: [][]byte{header(cmdPublish, nil, 0, topicTail(topic)), body}})
}

// Subscribe subscribes this client's connection to pattern (a topic in
// which a whole segment may be "*", one segment, and the last one ">",
// one or more; Lifecycle is every lifecycle event). It returns at once;
// Ready says when the broker has it. queue is the channel's size (0:
// DefaultQueue). Several Subscriptions of one client to the same pattern
// each get every event. ctx bounds the wait for the broker's answer
// only. Errors: ErrInvalidArgument (the pattern), ErrClosed.
func (c *Client) Subscribe(ctx context.Context, pattern string, queue int) (*Subscription, error) {
	if err := checkTopic(pattern, true); err != nil {
		return nil, err
	}
	if queue <= 0 {
		queue = DefaultQueue
	}
	s := &Subscription{c: c, pattern: pattern, ch: make(chan Publication, queue)}
	c.subMu.Lock()
	// registered before a PUBLICATION can be read: the I/O goroutine
	// looks subscriptions up under subMu
	f := c.simple(ctx, cmdSubscribe, "subscribe "+pattern, []byte(pattern))
	if f.isDone() && errors.Is(f.err, ErrClosed) {
		c.subMu.Unlock()
		return nil, f.err
	}
	if c.subs == nil {
		c.subs = map[string][]*Subscription{}
	}
	c.subs[pattern] = append(c.subs[pattern], s)
	c.subMu.Unlock()
	s.ready = f
	f.OnDone(func(f *Future) {
		if f.err != nil {
			// a SUBSCRIBE that may yet reach the broker is taken back
			back := errors.Is(f.err, ErrTimeout) || errors.Is(f.err, context.Canceled) ||
				errors.Is(f.err, context.DeadlineExceeded)
			c.unsubscribe(context.Background(), s, f.err, back)
		}
	})
	return s, nil
}

func (c *Client) unsubscribe(ctx context.Context, s *Subscription, why error, tell bool) *Future {
	var f *Future
	c.subMu.Lock()
	list := c.subs[s.pattern]
	for i, o := range list {
		if o != s {
			continue
		}
		list = append(list[:i:i], list[i+1:]...)
		if len(list) == 0 {
			delete(c.subs, s.pattern)
			if tell {
				f = c.simple(ctx, cmdUnsubscribe, "unsubscribe "+s.pattern, []byte(s.pattern))
			}
		} else {
			c.subs[s.pattern] = list
		}
		break
	}
	c.subMu.Unlock()
	if why == nil {
		why = newError(ErrClosed, "", "unsubscribed from %s", s.pattern)
	}
	s.end(why)
	if f == nil || (f.isDone() && errors.Is(f.err, ErrClosed)) {
		f = newFuture("unsubscribe " + s.pattern)
		f.resolve([]byte{0}, nil) // msgpack 0
	}
	return f
}

// endSubs ends every subscription with err (the client closed, the key
// refused).
func (c *Client) endSubs(err func(pattern string) error) {
	c.subMu.Lock()
	subs := c.subs
	c.subs = nil
	c.subMu.Unlock()
	for p, list := range subs {
		for _, s := range list {
			s.end(err(p))
		}
	}
}

// publication is the I/O goroutine's: a PUBLICATION [header, body].
func (c *Client) publication(msg [][]byte) {
	pattern, topic, ok := parsePublication(msg[0])
	if !ok || len(msg) != 2 {
		return
	}
	c.subMu.Lock()
	list := append([]*Subscription(nil), c.subs[pattern]...)
	c.subMu.Unlock()
	for _, s := range list {
		s.deliver(Publication{Topic: topic, Pattern: pattern, Data: msg[1]})
	}
}

// resubscribe is the I/O goroutine's: on a new connection, which the
// broker knows as a new peer with no subscription, it SUBSCRIBEs every
// live pattern again, each with a new request id (queued: the goroutine
// sends them on its next turn). A Subscription's Ready stays its first
// answer; the new answers are not reported (a refusal leaves the
// Subscription open, and it gets no events until the next connection).
func (c *Client) resubscribe() {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	for pattern := range c.subs {
		f := c.simple(context.Background(), cmdSubscribe, "subscribe "+pattern+" again", []byte(pattern))
		if f.isDone() && errors.Is(f.err, ErrClosed) {
			return
		}
	}
}
