package actors_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"
	"github.com/vmihailenco/msgpack/v5"

	"actors"
)

// writeCert writes a certificate pair as czmq's zcert_save does: path
// (public) and path_secret.
func writeCert(t *testing.T, path string) (pub, sec string) {
	t.Helper()
	pub, sec, err := zmq.NewCurveKeypair()
	if err != nil {
		t.Fatal(err)
	}
	head := "#   ****  Generated on 2026-01-01 00:00:00 by CZMQ  ****\n" +
		"#   ZeroMQ CURVE %s Certificate\n#   Exchange securely, or use a secure mechanism to verify the contents\n" +
		"#   of this file after exchange. Store public certificates in your home\n" +
		"#   directory, in the .curve subdirectory.\n\nmetadata\ncurve\n    public-key = \"%s\"\n"
	if err := os.WriteFile(path, []byte(fmt.Sprintf(head, "Public", pub)), 0o644); err != nil {
		t.Fatal(err)
	}
	secret := fmt.Sprintf(head, "**Secret**", pub) + fmt.Sprintf("    secret-key = \"%s\"\n", sec)
	if err := os.WriteFile(path+"_secret", []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	return pub, sec
}

// curveEcho is a CURVE ROUTER answering every PING with REPLY {"curve":
// true}: the client's side of the handshake alone (the tests further down
// use the real broker with keys).
func curveEcho(t *testing.T, pub, sec string) string {
	t.Helper()
	ctx, _ := zmq.NewContext()
	s, _ := ctx.NewSocket(zmq.ROUTER)
	s.SetLinger(0)
	s.SetCurveServer(1)
	s.SetCurvePublickey(pub)
	s.SetCurveSecretkey(sec)
	s.SetRcvtimeo(50 * time.Millisecond)
	if err := s.Bind("tcp://127.0.0.1:*"); err != nil {
		t.Fatal(err)
	}
	ep, _ := s.GetLastEndpoint()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		reply, _ := msgpack.Marshal(map[string]bool{"curve": true})
		for {
			select {
			case <-stop:
				s.Close()
				return
			default:
			}
			m, err := s.RecvMessageBytes(0)
			if err != nil || len(m) < 2 || len(m[1]) < 11 || m[1][4] != 0x0B {
				continue
			}
			h := append([]byte{}, m[1]...)
			h[4] = 0x03
			s.SendMessage(m[0], h, reply)
		}
	}()
	t.Cleanup(func() { close(stop); <-done; ctx.Term() })
	return ep
}

func TestLoadCzmqCert(t *testing.T) {
	dir := t.TempDir()
	pub, sec := writeCert(t, filepath.Join(dir, "c"))
	p, s, err := actors.LoadCert(filepath.Join(dir, "c_secret"))
	if err != nil || p != pub || s != sec {
		t.Fatalf("secret file: %q %q %v", p, s, err)
	}
	// czmq's zcert_load reads PATH_secret when it exists: a public
	// certificate alone is one without a secret file beside it
	only := filepath.Join(dir, "public-only")
	text, _ := os.ReadFile(filepath.Join(dir, "c"))
	os.WriteFile(only, text, 0o644)
	p, s, err = actors.LoadCert(only)
	if err != nil || p != pub || s != "" {
		t.Fatalf("public file: %q %q %v", p, s, err)
	}
	if _, _, err := actors.LoadCert(filepath.Join(dir, "missing")); !errors.Is(err, actors.ErrInvalidArgument) {
		t.Fatalf("missing: %v", err)
	}
	if _, err := actors.New(actors.Options{Endpoint: "tcp://127.0.0.1:1", Key: only, BrokerKey: only}); !errors.Is(err, actors.ErrInvalidArgument) {
		t.Fatalf("public file as own key: %v", err)
	}
}

func TestCurveHandshake(t *testing.T) {
	if !zmq.HasCurve() {
		t.Skip("libzmq without CURVE")
	}
	dir := t.TempDir()
	bpub, bsec := writeCert(t, filepath.Join(dir, "broker"))
	writeCert(t, filepath.Join(dir, "client"))
	writeCert(t, filepath.Join(dir, "other"))
	ep := curveEcho(t, bpub, bsec)

	c, err := actors.New(actors.Options{Endpoint: ep, Key: filepath.Join(dir, "client_secret"), BrokerKey: filepath.Join(dir, "broker"), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.Ping(bg).Result()
	c.Close()
	if m, ok := v.(map[string]any); err != nil || !ok || m["curve"] != true || !c.Curve() {
		t.Fatalf("curve ping: %v %v", v, err)
	}

	// from the environment
	t.Setenv("ACTORS_KEY", filepath.Join(dir, "client_secret"))
	t.Setenv("ACTORS_BROKER_KEY", filepath.Join(dir, "broker"))
	c, err = actors.New(actors.Options{Endpoint: ep, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Ping(bg).Err()
	c.Close()
	if err != nil || !c.Curve() {
		t.Fatalf("keys from the environment: %v", err)
	}

	// the wrong broker key: the handshake fails, the ping times out
	t.Setenv("ACTORS_BROKER_KEY", filepath.Join(dir, "other"))
	c, err = actors.New(actors.Options{Endpoint: ep, Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Ping(bg).Err()
	c.Close()
	if !errors.Is(err, actors.ErrTimeout) {
		t.Fatalf("wrong broker key: %v", err)
	}

	// no keys at all: nothing
	t.Setenv("ACTORS_KEY", "")
	t.Setenv("ACTORS_BROKER_KEY", "")
	c, err = actors.New(actors.Options{Endpoint: ep, Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Ping(bg).Err()
	c.Close()
	if c.Curve() || !errors.Is(err, actors.ErrTimeout) {
		t.Fatalf("plain client: %v", err)
	}

	// half a key
	t.Setenv("ACTORS_KEY", filepath.Join(dir, "client_secret"))
	if _, err := actors.New(actors.Options{Endpoint: ep}); !errors.Is(err, actors.ErrInvalidArgument) {
		t.Fatalf("half a key: %v", err)
	}
}

// ---------------------------------------------------- the real broker with keys

// keyedBroker is an actors-broker started with --keys (schemas/PROTOCOL.md,
// "Security"), certificates made by `actorctl keygen` as
// tests/interop/run.sh makes them: cli (role client) and act (actor)
// allowlisted, stranger not; an account started with the actor key.
var keyedBroker struct {
	once sync.Once
	ep   string
	dir  string // the peers' certificates
	err  error
}

func keyed(t *testing.T) (ep, dir string) {
	t.Helper()
	if !zmq.HasCurve() {
		t.Skip("libzmq without CURVE")
	}
	k := &keyedBroker
	k.once.Do(func() {
		k.dir = filepath.Join(tmpDir, "keys")
		allow := filepath.Join(tmpDir, "allow")
		if k.err = os.MkdirAll(allow, 0o700); k.err != nil {
			return
		}
		for _, nr := range [][2]string{{"broker", "admin"}, {"cli", "client"}, {"act", "actor"}, {"stranger", "client"}} {
			out, err := exec.Command(filepath.Join(bin, "actorctl"), "keygen", nr[0], "--role", nr[1], "--dir", k.dir).CombinedOutput()
			if err != nil {
				k.err = fmt.Errorf("actorctl keygen %s: %v: %s", nr[0], err, out)
				return
			}
		}
		for _, n := range []string{"cli", "act"} {
			b, err := os.ReadFile(filepath.Join(k.dir, n))
			if err == nil {
				err = os.WriteFile(filepath.Join(allow, n), b, 0o644)
			}
			if err != nil {
				k.err = err
				return
			}
		}
		if k.ep, k.err = startBroker("keyed-broker", "--keys", allow, "--key", filepath.Join(k.dir, "broker_secret")); k.err != nil {
			return
		}
		_, k.err = startEnv("curve_account", []string{"ACTORS_KEY=" + filepath.Join(k.dir, "act_secret"), "ACTORS_BROKER_KEY=" + filepath.Join(k.dir, "broker")},
			filepath.Join(bin, "account"), "--broker", k.ep, "--address", "curve/account", "100", "20")
	})
	if k.err != nil {
		t.Fatal(k.err)
	}
	c := keyedClient(t, k.ep, k.dir, "cli", 5*time.Second)
	waitUntil(t, "curve/account registered", func() bool { return running(c, "curve/account") })
	return k.ep, k.dir
}

func keyedClient(t *testing.T, ep, dir, name string, timeout time.Duration) *actors.Client {
	t.Helper()
	c, err := actors.New(actors.Options{Endpoint: ep, Key: filepath.Join(dir, name+"_secret"), BrokerKey: filepath.Join(dir, "broker"), Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestCurveRealBrokerClientKeyCalls(t *testing.T) {
	ep, dir := keyed(t)
	c := keyedClient(t, ep, dir, "cli", 10*time.Second)
	if !c.Curve() {
		t.Fatal("not CURVE")
	}
	before, err := c.Call(bg, "curve/account", "balance").Result()
	if err != nil {
		t.Fatalf("balance: %v", err)
	}
	if v, err := c.Call(bg, "curve/account", "deposit", 5).Result(); err != nil || v != before.(float64)+5 {
		t.Fatalf("deposit: %v %v (balance was %v)", v, err, before)
	}
	var e *actors.Error
	if err := c.Call(bg, "curve/account", "withdraw", -5).Err(); !errors.As(err, &e) || e.Type != "ValueError" {
		t.Fatalf("withdraw -5: %v", err)
	}
	s, err := c.Subscribe(bg, "curve.>", 0)
	if err != nil || s.Ready().Err() != nil {
		t.Fatalf("subscribe: %v %v", err, s.Ready().Err())
	}
	if v, err := c.Publish(bg, "curve.x", 1).Result(); err != nil || v != int64(1) {
		t.Fatalf("publish: %v %v", v, err)
	}
	if _, err := s.Next(bg); err != nil {
		t.Fatalf("next: %v", err)
	}
}

func TestCurveRealBrokerClientKeyMayNotKill(t *testing.T) {
	ep, dir := keyed(t)
	c := keyedClient(t, ep, dir, "cli", 10*time.Second)
	err := c.Kill(bg, "curve/account", false).Err()
	var e *actors.Error
	if !errors.Is(err, actors.ErrForbidden) || !errors.As(err, &e) || e.Type != "Forbidden" {
		t.Fatalf("KILL with a client key: %v", err)
	}
	if err := c.Spawn(bg, actors.SpawnOptions{Service: "account"}).Err(); !errors.Is(err, actors.ErrForbidden) {
		t.Fatalf("SPAWN with a client key: %v", err)
	}
	if !running(c, "curve/account") {
		t.Fatal("the account is not running any more")
	}
}

func TestCurveRealBrokerUnknownKeyFailsFast(t *testing.T) {
	ep, dir := keyed(t)
	// a deadline of 10 minutes: only the refusal can end these in time
	c := keyedClient(t, ep, dir, "stranger", 10*time.Minute)
	ctx, cancel := context.WithTimeout(bg, 2*time.Minute)
	defer cancel()
	f := c.CallWith(bg, actors.CallOptions{Timeout: 10 * time.Minute}, "curve/account", "balance")
	err := f.Wait(ctx)
	if !errors.Is(err, actors.ErrTimeout) || !strings.Contains(err.Error(), "refused this client's CURVE key") ||
		!strings.Contains(err.Error(), "curve/account.balance") {
		t.Fatalf("unknown key: %v", err)
	}
	if err := c.Ping(bg).Wait(ctx); !errors.Is(err, actors.ErrTimeout) || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("a later request: %v", err)
	}
	s, err := c.Subscribe(bg, "curve.>", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Next(ctx); !errors.Is(err, actors.ErrTimeout) {
		t.Fatalf("subscription: %v", err)
	}
}

// A client without keys: the mechanisms differ and libzmq never tries
// again, so requests fail at once (not at their 10-minute deadline) with a
// Timeout that says keys are needed.
func TestCurveRealBrokerPlainClientFailsFast(t *testing.T) {
	ep, _ := keyed(t)
	t.Setenv("ACTORS_KEY", "")
	t.Setenv("ACTORS_BROKER_KEY", "")
	c, err := actors.New(actors.Options{Endpoint: ep, Timeout: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Curve() {
		t.Fatal("CURVE without keys")
	}
	ctx, cancel := context.WithTimeout(bg, 2*time.Minute)
	defer cancel()
	if err := c.Ping(bg).Wait(ctx); !errors.Is(err, actors.ErrTimeout) || !strings.Contains(err.Error(), "requires CURVE keys") {
		t.Fatalf("plain client: %v", err)
	}
}

func TestCurveRealBrokerWrongBrokerKeyHint(t *testing.T) {
	ep, dir := keyed(t)
	c, err := actors.New(actors.Options{Endpoint: ep, Key: filepath.Join(dir, "cli_secret"), BrokerKey: filepath.Join(dir, "stranger"), Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Ping(bg).Err(); !errors.Is(err, actors.ErrTimeout) || !strings.Contains(err.Error(), "CURVE handshake") {
		t.Fatalf("wrong broker key: %v", err)
	}
}
