// backoff_test.go - a refused connection: the client backs off (100 ms
// doubling to 5 s, with jitter) instead of knocking every 100 ms, as
// libactors does (schemas/PROTOCOL.md, "Descriptors"), and gets in once a
// broker takes it.

package actors_test

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"sync"
	"testing"
	"time"

	"actors"
)

// refuser accepts every connection and shuts it at once, as a broker out
// of descriptors does; it notes when each came.
type refuser struct {
	ln    net.Listener
	mu    sync.Mutex
	times []time.Time
	done  chan struct{}
}

func newRefuser(t *testing.T) *refuser {
	ln, err := net.Listen("tcp", "127.0.0.1:0") // SO_REUSEADDR, as Go does
	if err != nil {
		t.Fatal(err)
	}
	r := &refuser{ln: ln, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return // closed
			}
			r.mu.Lock()
			r.times = append(r.times, time.Now())
			r.mu.Unlock()
			conn.Close()
		}
	}()
	return r
}

func (r *refuser) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.times)
}

func (r *refuser) close() {
	r.ln.Close()
	<-r.done
}

func TestRefusedConnectionBacksOff(t *testing.T) {
	// The first knocks connections of a client that backs off are at
	// least 100 + 200 + 400 + 800 + 1600 ms apart in all (3.1 s); libzmq
	// alone takes about 0.5 s. A slow machine only makes it longer.
	// One more is the client asking the broker's greeting once (is it
	// CURVE?): 7.
	const knocks = 7
	const least = 2 * time.Second
	r := newRefuser(t)
	ep := "tcp://" + r.ln.Addr().String()
	c, err := actors.New(actors.Options{Endpoint: ep, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f := c.Ping(context.Background()) // sent while refused: parked, or lost with one
	end := time.Now().Add(30 * time.Second)
	for r.count() < knocks {
		if time.Now().After(end) {
			r.close()
			t.Fatalf("%d connections in 30 s", r.count())
		}
		time.Sleep(20 * time.Millisecond) // poll pause; the loop has a deadline
	}
	r.close()
	took := r.times[knocks-1].Sub(r.times[0])
	if took < least {
		t.Fatalf("%d connections in %v: no backoff", knocks, took)
	}
	if n := c.Refusals(); n < knocks-2 {
		t.Fatalf("Refusals() = %d after %d connections", n, knocks)
	}
	// A broker on that port takes the client at its next connect (the
	// port may take a moment to be free: the refused connections).
	var b *exec.Cmd
	waitUntil(t, "a broker at "+ep, func() bool {
		var got string
		b, got, err = startBrokerOn("backoff-broker", ep)
		return err == nil && got == ep
	})
	defer stopProc(b)
	waitUntil(t, "a ping after the refusals", func() bool {
		select {
		case <-f.Done():
		case <-time.After(200 * time.Millisecond):
			return false // not answered yet
		}
		if err := f.Err(); err != nil {
			if !errors.Is(err, actors.ErrTimeout) {
				t.Fatalf("ping: %v", err)
			}
			f = c.Ping(context.Background()) // it went with a refused connection
			return false
		}
		return true
	})
}
