// pubsub_test.go - publish/subscribe (schemas/PROTOCOL.md,
// "Publish/subscribe") against the real broker. Every test publishes
// under a prefix of its own, so that tests sharing the broker do not see
// each other's events.

package actors_test

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"actors"
)

func prefix() string { return strings.ReplaceAll(fresh("t"), "/", "") }

// within bounds a wait for what must come (never a measurement)
func within(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(bg, deadline)
	t.Cleanup(cancel)
	return ctx
}

func subscribed(t *testing.T, c *actors.Client, pattern string) *actors.Subscription {
	t.Helper()
	s, err := c.Subscribe(bg, pattern, 0)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.Ready().Result(); err != nil || v != int64(1) {
		t.Fatalf("subscribe %s: %v %v", pattern, v, err)
	}
	return s
}

func published(t *testing.T, c *actors.Client, topic string, data any) int64 {
	t.Helper()
	v, err := c.Publish(bg, topic, data).Result()
	if err != nil {
		t.Fatalf("publish %s: %v", topic, err)
	}
	return v.(int64)
}

func next(t *testing.T, s *actors.Subscription) (actors.Publication, any) {
	t.Helper()
	ev, err := s.Next(within(t))
	if err != nil {
		t.Fatalf("next on %s: %v", s.Pattern(), err)
	}
	v, err := ev.Value()
	if err != nil {
		t.Fatal(err)
	}
	return ev, v
}

func TestPubSubTwoPatterns(t *testing.T) {
	c, pub := newClient(t), newClient(t)
	p := prefix()
	orders := subscribed(t, c, p+".orders.*")
	users := subscribed(t, c, p+".users.>")
	for _, x := range []struct {
		topic string
		data  any
		n     int64
	}{
		{p + ".orders.created", map[string]any{"id": 1}, 1},
		{p + ".users.eu.joined", "ann", 1},
		{p + ".orders.created.eu", 3, 0},
		{p + ".other", nil, 0},
		{p + ".users.x", 2, 1},
		{p + ".orders.end", nil, 1},
	} {
		if n := published(t, pub, x.topic, x.data); n != x.n {
			t.Fatalf("publish %s reached %d, want %d", x.topic, n, x.n)
		}
	}
	ev, v := next(t, orders)
	if ev.Topic != p+".orders.created" || ev.Pattern != p+".orders.*" || v.(map[string]any)["id"] != int64(1) {
		t.Fatalf("orders: %+v %v", ev, v)
	}
	if ev, _ = next(t, orders); ev.Topic != p+".orders.end" {
		t.Fatalf("orders got %s, want only the end marker", ev.Topic)
	}
	if ev, v = next(t, users); ev.Topic != p+".users.eu.joined" || ev.Pattern != p+".users.>" || v != "ann" {
		t.Fatalf("users: %+v %v", ev, v)
	}
	if ev, v = next(t, users); ev.Topic != p+".users.x" || v != int64(2) {
		t.Fatalf("users: %+v %v", ev, v)
	}
	var id struct {
		ID int `msgpack:"id"`
	}
	published(t, pub, p+".orders.decoded", map[string]any{"id": 9})
	if ev, _ = next(t, orders); ev.Decode(&id) != nil || id.ID != 9 {
		t.Fatalf("decode: %+v %+v", ev, id)
	}
}

func TestPubSubOrderOfOnePublisher(t *testing.T) {
	c, pub := newClient(t), newClient(t)
	p := prefix()
	s := subscribed(t, c, p+".seq")
	const n = 500
	for i := 0; i < n-1; i++ {
		if err := pub.PublishNowait(p+".seq", i); err != nil {
			t.Fatal(err)
		}
	}
	if got := published(t, pub, p+".seq", n-1); got != 1 {
		t.Fatalf("reached %d", got)
	}
	for i := 0; i < n; i++ {
		ev := <-s.C() // a channel works as well as Next
		v, _ := ev.Value()
		if v != int64(i) {
			t.Fatalf("event %d is %v", i, v)
		}
	}
	if s.Dropped() != 0 || s.Received() != n {
		t.Fatalf("received %d dropped %d", s.Received(), s.Dropped())
	}
}

func TestPubSubUnsubscribeStopsDelivery(t *testing.T) {
	c := newClient(t)
	p := prefix()
	s := subscribed(t, c, p+".>")
	published(t, c, p+".a", 1)
	next(t, s)
	if v, err := s.Unsubscribe(bg).Result(); err != nil || v != int64(1) {
		t.Fatalf("unsubscribe: %v %v", v, err)
	}
	if n := published(t, c, p+".a", 2); n != 0 {
		t.Fatalf("reached %d after unsubscribe", n)
	}
	if _, err := s.Next(within(t)); !errors.Is(err, actors.ErrClosed) {
		t.Fatalf("next after unsubscribe: %v", err)
	}
	if _, ok := <-s.C(); ok {
		t.Fatal("channel still open")
	}
	if v, err := s.Unsubscribe(bg).Result(); err != nil || v != int64(0) {
		t.Fatalf("second unsubscribe: %v %v", v, err)
	}
}

func TestPubSubSamePatternTwice(t *testing.T) {
	c := newClient(t)
	p := prefix()
	a := subscribed(t, c, p+".x")
	b, err := c.Subscribe(bg, p+".x", 0)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := b.Ready().Result(); err != nil || v != int64(0) {
		t.Fatalf("second subscribe: %v %v", v, err)
	}
	published(t, c, p+".x", "e")
	next(t, a)
	next(t, b)
	if v, _ := a.Unsubscribe(bg).Result(); v != int64(0) {
		t.Fatalf("a's unsubscribe was sent: %v", v)
	}
	if n := published(t, c, p+".x", "f"); n != 1 {
		t.Fatalf("reached %d", n)
	}
	next(t, b)
	if v, _ := b.Unsubscribe(bg).Result(); v != int64(1) {
		t.Fatalf("b's unsubscribe: %v", v)
	}
}

func TestPubSubBadPatternRefusedLocally(t *testing.T) {
	c := newClient(t)
	for _, p := range []string{"", "a..b", ".a", "a.", "a b", "a.>.b", "a\x01", strings.Repeat("x", 256)} {
		if _, err := c.Subscribe(bg, p, 0); !errors.Is(err, actors.ErrInvalidArgument) {
			t.Fatalf("subscribe %q: %v", p, err)
		}
	}
	for _, topic := range []string{"a.*", "a.>", ">", "a..b", ""} {
		if err := c.Publish(bg, topic, 1).Err(); !errors.Is(err, actors.ErrInvalidArgument) {
			t.Fatalf("publish %q: %v", topic, err)
		}
		if err := c.PublishNowait(topic, 1); !errors.Is(err, actors.ErrInvalidArgument) {
			t.Fatalf("publish nowait %q: %v", topic, err)
		}
	}
}

func TestPubSubBadPatternRefusedByTheBroker(t *testing.T) {
	c := newClient(t)
	restore := actors.SkipTopicCheck()
	s, err := c.Subscribe(bg, "a..b", 0)
	perr := c.Publish(bg, "a.>", 1).Err()
	restore()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ready().Err(); !errors.Is(err, actors.ErrBadRequest) {
		t.Fatalf("ready: %v", err)
	}
	if _, err := s.Next(within(t)); !errors.Is(err, actors.ErrBadRequest) {
		t.Fatalf("next: %v", err)
	}
	if !errors.Is(perr, actors.ErrBadRequest) {
		t.Fatalf("publish: %v", perr)
	}
	if err := c.Ping(bg).Err(); err != nil {
		t.Fatalf("the connection goes on: %v", err)
	}
}

func TestPubSubCloseEndsSubscriptions(t *testing.T) {
	c, err := actors.New(actors.Options{Endpoint: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	s := subscribed(t, c, prefix()+".>")
	c.Close()
	if _, err := s.Next(within(t)); !errors.Is(err, actors.ErrClosed) {
		t.Fatalf("next after close: %v", err)
	}
}

func TestPubSubLifecycleRegistered(t *testing.T) {
	c := newClient(t)
	address := fresh("go/lc")
	s := subscribed(t, c, "actors.lifecycle.registered.>")
	all := subscribed(t, c, actors.Lifecycle)
	p, err := start(strings.ReplaceAll(address, "/", "_"), filepath.Join(bin, "counter"), "--broker", endpoint, "--address", address)
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []*actors.Subscription{s, all} {
		for {
			ev, v := next(t, sub)
			m := v.(map[string]any)
			if m["address"] != address {
				continue // another test's actor
			}
			if ev.Topic != "actors.lifecycle.registered."+address || m["kind"] != "registered" ||
				m["service"] != "counter" || m["pid"] != int64(p.Process.Pid) {
				t.Fatalf("lifecycle on %s: %s %v", sub.Pattern(), ev.Topic, m)
			}
			break
		}
	}
}

// The broker forgets a connection's subscriptions with the connection:
// after it restarts on the same endpoint the client subscribes every live
// pattern again by itself (schemas/PROTOCOL.md: a client SHOULD). A
// broker of this test's own, stopped by pid; the publisher publishes
// until both subscriptions are back (reconnecting takes a moment).
func TestPubSubResubscribesAfterBrokerRestart(t *testing.T) {
	old, ep, err := startBrokerOn("rbroker", "tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	connect := func() *actors.Client {
		c, err := actors.New(actors.Options{Endpoint: ep, Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	c, pub := connect(), connect()
	p := prefix()
	all := subscribed(t, c, p+".>")
	cb := subscribed(t, c, p+".cb")
	if n := published(t, pub, p+".cb", "before"); n != 2 {
		t.Fatalf("publish reached %d, want 2", n)
	}
	for _, s := range []*actors.Subscription{all, cb} {
		if _, v := next(t, s); v != "before" {
			t.Fatalf("%s: %v", s.Pattern(), v)
		}
	}
	stopProc(old)
	// bound again to the same port (retried: it may be busy for a moment)
	var now *exec.Cmd
	waitUntil(t, "a new broker at "+ep, func() bool {
		var got string
		now, got, err = startBrokerOn("rbroker2", ep)
		return err == nil && got == ep
	})
	t.Cleanup(func() { stopProc(now) })
	waitUntil(t, "both subscriptions made again", func() bool {
		v, err := pub.Publish(bg, p+".cb", "after").Result()
		return err == nil && v == int64(2)
	})
	for _, s := range []*actors.Subscription{all, cb} {
		if _, v := next(t, s); v != "after" {
			t.Fatalf("%s: %v", s.Pattern(), v)
		}
	}
	if v, err := all.Ready().Result(); err != nil || v != int64(1) || all.Err() != nil {
		t.Fatalf("the first subscription's state changed: %v %v %v", v, err, all.Err())
	}
	if err := c.Ping(bg).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := cb.Unsubscribe(bg).Result(); err != nil || v != int64(1) {
		t.Fatalf("unsubscribe: %v %v", v, err)
	}
}
