// harness_test.go - the real broker, services and a node on loopback for
// the tests, started once by TestMain and stopped by pid.

package actors_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"actors"
)

var (
	root     string
	bin      string
	endpoint string
	procs    []*exec.Cmd
	tmpDir   string
)

const deadline = 20 * time.Second

func start(name string, argv ...string) (*exec.Cmd, error) {
	return startEnv(name, nil, argv...)
}

// startEnv starts argv with env added to the test's environment, its
// stderr in tmpDir/NAME.err; stopped by pid at the end (stopAll).
func startEnv(name string, env []string, argv ...string) (*exec.Cmd, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	errf, err := os.Create(filepath.Join(tmpDir, name+".err"))
	if err != nil {
		return nil, err
	}
	cmd.Stderr = errf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	procs = append(procs, cmd)
	return cmd, nil
}

var stopOnce sync.Once

func stopAll() { stopOnce.Do(stopProcs) }

func stopProcs() {
	for i := len(procs) - 1; i >= 0; i-- {
		stopProc(procs[i])
	}
}

// stopProc stops p by its pid: SIGTERM, then SIGKILL after 5 s. Once
// more on a stopped one is harmless.
func stopProc(p *exec.Cmd) {
	p.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		p.Process.Kill()
		<-done
	}
}

// startBroker starts an actors-broker (with extra arguments) on a free
// loopback port, its stderr in tmpDir/NAME.err; its endpoint.
func startBroker(name string, extra ...string) (string, error) {
	_, ep, err := startBrokerOn(name, "tcp://127.0.0.1:*", extra...)
	return ep, err
}

// startBrokerOn starts an actors-broker bound to bind (with extra
// arguments), its stderr in tmpDir/NAME.err; the process and its
// endpoint once it has said it (an error if it exits first).
func startBrokerOn(name, bind string, extra ...string) (*exec.Cmd, string, error) {
	argv := append([]string{"--bind", bind}, extra...)
	cmd := exec.Command(filepath.Join(bin, "actors-broker"), argv...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	errf, _ := os.Create(filepath.Join(tmpDir, name+".err"))
	cmd.Stderr = errf
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	procs = append(procs, cmd)
	lines := make(chan string, 1)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if ep, ok := strings.CutPrefix(sc.Text(), "ENDPOINT "); ok {
				lines <- strings.TrimSpace(ep)
				io.Copy(io.Discard, out) // it may write more
				return
			}
		}
	}()
	select {
	case ep, ok := <-lines:
		if !ok {
			cmd.Wait()
			return nil, "", fmt.Errorf("the broker exited before saying its ENDPOINT (see %s.err)", name)
		}
		return cmd, ep, nil
	case <-time.After(deadline):
		return nil, "", fmt.Errorf("no ENDPOINT line from the broker in %v", deadline)
	}
}

// waitUntil polls cond until it holds or the deadline passes.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for time.Now().Before(end) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond) // poll pause; the loop has a deadline
	}
	t.Fatalf("%s: not within %v", what, deadline)
}

func running(c *actors.Client, address string) bool {
	var info actors.ActorInfo
	return c.Lookup(context.Background(), address).Decode(&info) == nil && info.State == "running"
}

func setup() error {
	root = os.Getenv("ACTORS_SRCDIR")
	if root == "" {
		wd, _ := os.Getwd()
		root = filepath.Join(wd, "..", "..")
	}
	build := os.Getenv("BUILD")
	if build == "" {
		build = "build"
	}
	if filepath.IsAbs(build) {
		bin = filepath.Join(build, "bin")
	} else {
		bin = filepath.Join(root, build, "bin")
	}
	for _, b := range []string{"actors-broker", "actors-supervisor", "account", "counter", "chaos", "actorctl"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			return fmt.Errorf("%s/%s is missing; build first (make BUILD=%s)", bin, b, build)
		}
	}
	var err error
	if tmpDir, err = os.MkdirTemp("", "actors-goclient."); err != nil {
		return err
	}
	if endpoint, err = startBroker("broker"); err != nil {
		return err
	}
	svc := func(service, address string, args ...string) error {
		argv := append([]string{filepath.Join(bin, service), "--broker", endpoint, "--address", address}, args...)
		_, err := start(strings.ReplaceAll(address, "/", "_"), argv...)
		return err
	}
	if err := svc("account", "go/account", "100", "20"); err != nil {
		return err
	}
	if err := svc("counter", "go/counter"); err != nil {
		return err
	}
	if err := svc("chaos", "go/chaos"); err != nil {
		return err
	}
	conf := filepath.Join(tmpDir, "node.zpl")
	zpl := fmt.Sprintf("supervisor\n    node = gonode\n    path = %s\n    services = counter account\nactor\n    chaos\n        service = chaos\n        address = go/supervised\n", bin)
	if err := os.WriteFile(conf, []byte(zpl), 0o644); err != nil {
		return err
	}
	if _, err := start("node", filepath.Join(bin, "actors-supervisor"), "--broker", endpoint, "--config", conf, "--services", "account chaos counter store"); err != nil {
		return err
	}
	c, err := actors.New(actors.Options{Endpoint: endpoint, Timeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer c.Close()
	for _, a := range []string{"go/account", "go/counter", "go/chaos", "go/supervised"} {
		end := time.Now().Add(deadline)
		for !running(c, a) {
			if time.Now().After(end) {
				return fmt.Errorf("%s not registered within %v", a, deadline)
			}
			time.Sleep(20 * time.Millisecond) // poll pause; the loop has a deadline
		}
	}
	return nil
}

func TestMain(m *testing.M) {
	// a SIGTERM (timeout(1) in scripts/run-tests.sh) still stops them
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sigs
		stopAll()
		os.Exit(143)
	}()
	err := setup()
	code := 1
	if err != nil {
		fmt.Fprintln(os.Stderr, "setup:", err)
	} else {
		code = m.Run()
	}
	stopAll()
	if tmpDir != "" {
		os.RemoveAll(tmpDir)
	}
	os.Exit(code)
}

func newClient(t testing.TB) *actors.Client {
	t.Helper()
	c, err := actors.New(actors.Options{Endpoint: endpoint, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
