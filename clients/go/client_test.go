package actors_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sync"
	"testing"
	"time"

	"actors"
)

var bg = context.Background()

func fresh(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return prefix + "/" + hex.EncodeToString(b)
}

func TestErrorTableMirrorsErrorH(t *testing.T) {
	text, err := os.ReadFile(filepath.Join(root, "libactors", "include", "actors", "error.h"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range regexp.MustCompile(`XX\(\s*E[A-Z]+,\s*"([A-Za-z]+)"`).FindAllStringSubmatch(string(text), -1) {
		names = append(names, m[1])
	}
	if len(names) == 0 || !reflect.DeepEqual(names, actors.ErrorTypes) {
		t.Fatalf("ErrorTypes %v\nerror.h    %v", actors.ErrorTypes, names)
	}
	seen := map[*actors.Kind]bool{}
	for _, n := range names {
		k := actors.KindOf(n)
		if k.Name() != n || seen[k] {
			t.Fatalf("no Kind of its own for %s", n)
		}
		seen[k] = true
		e := &actors.Error{Type: n}
		if !errors.Is(e, k) {
			t.Fatalf("errors.Is(%s, Err%s) is false", n, n)
		}
	}
	if !errors.Is(&actors.Error{Type: "ValueError"}, actors.ErrActorError) {
		t.Fatal("an application type is not ErrActorError")
	}
	if !seen[actors.ErrForbidden] {
		t.Fatal("no Forbidden")
	}
}

func TestCallResult(t *testing.T) {
	c := newClient(t)
	v, err := c.Call(bg, "go/chaos", "echo", map[string]any{"a": []any{1, 2.5, "x", []byte{0, 255}, nil}}).Result()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": []any{int64(1), 2.5, "x", []byte{0, 255}, nil}}
	if !reflect.DeepEqual(v, want) {
		t.Fatalf("got %#v", v)
	}
	var bal float64
	if err := c.Call(bg, "go/account", "deposit", 1).Decode(&bal); err != nil || bal < 101 {
		t.Fatalf("deposit: %v %v", bal, err)
	}
}

func TestApplicationErrorKeepsItsType(t *testing.T) {
	c := newClient(t)
	err := c.Call(bg, "go/account", "withdraw", -5).Err()
	var e *actors.Error
	if !errors.As(err, &e) || e.Type != "ValueError" || e.Message != "Can not withdraw negative amount" || e.Address != "go/account" {
		t.Fatalf("got %#v", err)
	}
	if err.Error() != "ValueError: Can not withdraw negative amount" || !errors.Is(err, actors.ErrActorError) {
		t.Fatalf("got %v", err)
	}
}

func TestErrorKinds(t *testing.T) {
	c := newClient(t)
	cases := []struct {
		addr, method string
		args         []any
		kind         *actors.Kind
	}{
		{"go/nobody", "echo", []any{1}, actors.ErrNoSuchActor},
		{"go/chaos", "nosuchmethod", nil, actors.ErrNoSuchMethod},
		{"go/chaos", "echo", []any{1, 2}, actors.ErrWrongArguments},
	}
	for _, tc := range cases {
		if err := c.Call(bg, tc.addr, tc.method, tc.args...).Err(); !errors.Is(err, tc.kind) {
			t.Errorf("%s.%s: want %v, got %v", tc.addr, tc.method, tc.kind, err)
		}
	}
	if err := c.Call(bg, string(make([]byte, 256)), "m").Err(); !errors.Is(err, actors.ErrInvalidArgument) {
		t.Errorf("long address: %v", err)
	}
	if err := c.CallWith(bg, actors.CallOptions{Key: "\x00b"}, "a/b", "m").Err(); !errors.Is(err, actors.ErrInvalidArgument) {
		t.Errorf("reserved key: %v", err)
	}
}

func TestDeadlineFromContextReachesTheBroker(t *testing.T) {
	c := newClient(t)
	ctx, cancel := context.WithTimeout(bg, 200*time.Millisecond)
	defer cancel()
	err := c.Call(ctx, "go/chaos", "delay", 3000, "late").Err()
	// the broker's Timeout or the context's own end, whichever is first;
	// had neither been kept, the answer "late" would come instead
	if !errors.Is(err, actors.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	// CallOptions.Timeout: the broker answers Timeout
	err = c.CallWith(bg, actors.CallOptions{Timeout: 200 * time.Millisecond}, "go/chaos", "delay", 3000, "late").Err()
	var e *actors.Error
	if !errors.As(err, &e) || e.Type != "Timeout" {
		t.Fatalf("got %v", err)
	}
}

func TestCancelledContextFailsTheFuture(t *testing.T) {
	c := newClient(t)
	ctx, cancel := context.WithCancel(bg)
	f := c.Call(ctx, "go/chaos", "delay", 2000, "x")
	cancel()
	if err := f.Err(); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

func TestLocalTimerWhenNoBrokerAnswers(t *testing.T) {
	c, err := actors.New(actors.Options{Endpoint: "tcp://127.0.0.1:1", Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A hang would end in go test's own -timeout, not in ErrTimeout.
	for _, f := range []*actors.Future{c.Call(bg, "x/y", "m"), c.Lookup(bg, "x/y"), c.Ping(bg)} {
		if err := f.Err(); !errors.Is(err, actors.ErrTimeout) {
			t.Fatalf("got %v", err)
		}
	}
}

func TestBadEndpointIsInvalidArgument(t *testing.T) {
	if _, err := actors.New(actors.Options{Endpoint: "nonsense://x"}); !errors.Is(err, actors.ErrInvalidArgument) {
		t.Fatalf("got %v", err)
	}
}

func TestOversizeArgumentsFailTooLargeAndKeepTheConnection(t *testing.T) {
	c := newClient(t)
	huge := make([]byte, 16<<20+1)
	if err := c.Call(bg, "go/chaos", "echo", huge).Err(); !errors.Is(err, actors.ErrTooLarge) {
		t.Fatalf("call: %v", err)
	}
	if err := c.Tell(bg, "go/chaos", "echo", huge).Err(); !errors.Is(err, actors.ErrTooLarge) {
		t.Fatalf("tell: %v", err)
	}
	big := make([]byte, 4<<20)
	var back []byte
	if err := c.Call(bg, "go/chaos", "echo", big).Decode(&back); err != nil || len(back) != len(big) {
		t.Fatalf("4 MiB: %d %v", len(back), err)
	}
}

func TestCallKeyReachesTheActor(t *testing.T) {
	c := newClient(t)
	v, err := c.CallWith(bg, actors.CallOptions{Key: "k-go-1"}, "go/chaos", "key").Result()
	if err != nil || v != "k-go-1" {
		t.Fatalf("got %v %v", v, err)
	}
}

func TestPipelinedInOrder(t *testing.T) {
	c := newClient(t)
	var start int64
	if err := c.Call(bg, "go/counter", "value").Decode(&start); err != nil {
		t.Fatal(err)
	}
	fs := make([]*actors.Future, 2000)
	for i := range fs {
		fs[i] = c.Call(bg, "go/counter", "increment")
	}
	for i, f := range fs {
		var n int64
		if err := f.Decode(&n); err != nil || n != start+int64(i)+1 {
			t.Fatalf("call %d: %d %v", i, n, err)
		}
	}
}

func TestRepliesOutOfOrderReachTheirFuture(t *testing.T) {
	c := newClient(t)
	slow := c.Call(bg, "go/chaos", "delay", 2000, "slow")
	for i := 0; i < 50; i++ {
		v, err := c.Call(bg, "go/chaos", "echo", i).Result()
		if err != nil || v != int64(i) {
			t.Fatalf("echo %d: %v %v", i, v, err)
		}
	}
	select {
	case <-slow.Done():
		t.Fatal("the slow call resolved before its reply")
	default:
	}
	if v, err := slow.Result(); err != nil || v != "slow" {
		t.Fatalf("slow: %v %v", v, err)
	}
}

func TestGoroutinesShareOneClient(t *testing.T) {
	c := newClient(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			fs := make([]*actors.Future, 200)
			for i := range fs {
				fs[i] = c.Call(bg, "go/chaos", "echo", []int{g, i})
			}
			for i, f := range fs {
				v, err := f.Result()
				if err != nil || !reflect.DeepEqual(v, []any{int64(g), int64(i)}) {
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("a goroutine's call failed: %v", err)
	}
}

func TestOnDoneMayCallAgain(t *testing.T) {
	c := newClient(t)
	got := make(chan any, 2)
	c.Call(bg, "go/chaos", "echo", "one").OnDone(func(f *actors.Future) {
		v, _ := f.Result()
		got <- v
		c.Call(bg, "go/chaos", "echo", "two").OnDone(func(f *actors.Future) {
			v, _ := f.Result()
			got <- v
		})
	})
	for _, want := range []string{"one", "two"} {
		select {
		case v := <-got:
			if v != want {
				t.Fatalf("got %v, want %v", v, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("callback did not run")
		}
	}
}

func TestTell(t *testing.T) {
	c := newClient(t)
	var start, end int64
	c.Call(bg, "go/counter", "value").Decode(&start)
	acks := make([]*actors.Future, 100)
	for i := range acks {
		acks[i] = c.Tell(bg, "go/counter", "increment")
	}
	for _, a := range acks {
		if v, err := a.Result(); err != nil || v != nil {
			t.Fatalf("ack: %v %v", v, err)
		}
	}
	if err := c.TellNowait("go/nobody", "increment"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		c.TellNowait("go/counter", "increment")
	}
	c.Call(bg, "go/counter", "value").Decode(&end)
	if end != start+110 {
		t.Fatalf("value %d, want %d", end, start+110)
	}
	if err := c.Tell(bg, "go/nobody", "increment").Err(); !errors.Is(err, actors.ErrNoSuchActor) {
		t.Fatalf("tell to nobody: %v", err)
	}
}

func TestLookupLsPing(t *testing.T) {
	c := newClient(t)
	var info actors.ActorInfo
	if err := c.Lookup(bg, "go/chaos").Decode(&info); err != nil || info.Service != "chaos" || info.State != "running" || info.Pid <= 0 {
		t.Fatalf("lookup: %+v %v", info, err)
	}
	var all []actors.ActorInfo
	if err := c.Ls(bg).Decode(&all); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, a := range all {
		have[a.Address] = true
	}
	if !have["go/account"] || !have["go/counter"] || !have["go/chaos"] {
		t.Fatalf("ls: %+v", all)
	}
	v, err := c.Ping(bg).Result()
	if m, ok := v.(map[string]any); err != nil || !ok || m["protocol"] != "ACT2" {
		t.Fatalf("ping: %v %v", v, err)
	}
	if err := c.Lookup(bg, "go/nobody").Err(); !errors.Is(err, actors.ErrNoSuchActor) {
		t.Fatalf("lookup nobody: %v", err)
	}
}

func maxEventID(t *testing.T, c *actors.Client) uint64 {
	var evs []actors.Event
	if err := c.Events(bg, 0).Decode(&evs); err != nil {
		t.Fatal(err)
	}
	var m uint64
	for _, e := range evs {
		if e.ID > m {
			m = e.ID
		}
	}
	return m
}

func TestSpawnCallKillEvents(t *testing.T) {
	c := newClient(t)
	since := maxEventID(t, c)
	name := fresh("gospawn")
	var r actors.SpawnResult
	if err := c.Spawn(bg, actors.SpawnOptions{Service: "counter", Name: name, Detached: true}).Decode(&r); err != nil || r.Address != name || r.Existed || r.Pid <= 0 {
		t.Fatalf("spawn: %+v %v", r, err)
	}
	if v, err := c.Call(bg, name, "increment").Result(); err != nil || v != int64(1) {
		t.Fatalf("call: %v %v", v, err)
	}
	var again actors.SpawnResult
	if err := c.Spawn(bg, actors.SpawnOptions{Service: "counter", Name: name, GetIfExists: true}).Decode(&again); err != nil || !again.Existed || again.Pid != r.Pid {
		t.Fatalf("get_if_exists: %+v %v", again, err)
	}
	if err := c.Spawn(bg, actors.SpawnOptions{Service: "counter", Name: name}).Err(); !errors.Is(err, actors.ErrNameTaken) {
		t.Fatalf("taken: %v", err)
	}
	var k actors.KillResult
	if err := c.Kill(bg, name, false).Decode(&k); err != nil || k.Address != name {
		t.Fatalf("kill: %+v %v", k, err)
	}
	var info actors.ActorInfo
	if err := c.Lookup(bg, name).Decode(&info); err != nil || info.State != "dead" {
		t.Fatalf("after kill: %+v %v", info, err)
	}
	if err := c.Call(bg, name, "increment").Err(); !errors.Is(err, actors.ErrActorDead) {
		t.Fatalf("call dead: %v", err)
	}
	waitUntil(t, "start and exit events of "+name, func() bool {
		var evs []actors.Event
		if c.Events(bg, since).Decode(&evs) != nil {
			return false
		}
		kinds := map[string]bool{}
		for _, e := range evs {
			if e.Address == name {
				kinds[e.Kind] = true
			}
		}
		return kinds["start"] && kinds["exit"]
	})
}

func TestSpawnArgsAndStop(t *testing.T) {
	c := newClient(t)
	name := fresh("goacct")
	if err := c.Spawn(bg, actors.SpawnOptions{Service: "account", Name: name, Args: []any{100, 20}, Detached: true}).Err(); err != nil {
		t.Fatal(err)
	}
	var bal float64
	if err := c.Call(bg, name, "deposit", 5).Decode(&bal); err != nil || bal != 105 {
		t.Fatalf("deposit: %v %v", bal, err)
	}
	if err := c.Stop(bg, name).Err(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, name+" stopped", func() bool {
		var info actors.ActorInfo
		return c.Lookup(bg, name).Decode(&info) == nil && info.State == "stopped"
	})
}

func TestSpawnErrors(t *testing.T) {
	c := newClient(t)
	if err := c.Spawn(bg, actors.SpawnOptions{Service: "counter", Node: "no-such-node"}).Err(); !errors.Is(err, actors.ErrNoSuchNode) {
		t.Fatalf("node: %v", err)
	}
	if err := c.Spawn(bg, actors.SpawnOptions{Service: "no-such-service", Detached: true}).Err(); !errors.Is(err, actors.ErrSpawnFailed) {
		t.Fatalf("service: %v", err)
	}
	if err := c.Kill(bg, "go/nobody", true).Err(); !errors.Is(err, actors.ErrNoSuchActor) {
		t.Fatalf("kill: %v", err)
	}
}

func TestOwnedActorGoesWithItsClient(t *testing.T) {
	c := newClient(t)
	owner, err := actors.New(actors.Options{Endpoint: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	name := fresh("goowned")
	var r actors.SpawnResult
	if err := owner.Spawn(bg, actors.SpawnOptions{Service: "counter", Name: name}).Decode(&r); err != nil || len(r.Owner) == 0 {
		t.Fatalf("spawn: %+v %v", r, err)
	}
	if !running(c, name) {
		t.Fatal("not running")
	}
	owner.Close()
	waitUntil(t, "owned actor stopped (gracefully) after its owner closed", func() bool {
		var info actors.ActorInfo
		return c.Lookup(bg, name).Decode(&info) == nil && info.State == "stopped"
	})
}

func TestTellsJustBeforeCloseStillLeave(t *testing.T) {
	c := newClient(t)
	var start int64
	if err := c.Call(bg, "go/counter", "value").Decode(&start); err != nil {
		t.Fatal(err)
	}
	o, err := actors.New(actors.Options{Endpoint: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		o.TellNowait("go/counter", "increment")
	}
	o.Close()
	waitUntil(t, "the 5 tells sent just before Close handled", func() bool {
		var n int64
		return c.Call(bg, "go/counter", "value").Decode(&n) == nil && n == start+5
	})
}

func TestCloseFailsPendingAndRefusesNew(t *testing.T) {
	c, err := actors.New(actors.Options{Endpoint: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	f := c.Call(bg, "go/chaos", "delay", 5000, "x")
	c.Close()
	if err := f.Err(); !errors.Is(err, actors.ErrClosed) {
		t.Fatalf("pending: %v", err)
	}
	if err := c.Call(bg, "go/chaos", "echo", 1).Err(); !errors.Is(err, actors.ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
	c.Close()
}
