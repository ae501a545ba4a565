package actors_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
// true}; it stands for a keyed broker until the broker has keys.
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
