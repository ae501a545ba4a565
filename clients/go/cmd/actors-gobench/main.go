// actors-gobench measures the Go client the way bench/peers/peerlib.py
// measures the Python peers (and actors-bench the C client): sequential
// calls (latency percentiles), pipelined windows of 1, 16, 256 and 4096
// calls over one connection, and acknowledged tells in batches closed by
// a call; a warm-up of a tenth of the time (at least 0.1 s) first. The
// callee answers echo(x) (a chaos actor). Prints one JSON object of
// figures; bench/peers/goclient_bench.py starts the broker and the actor.
//
//	actors-gobench --endpoint EP --address A [--seconds S]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
	"time"

	"actors"
)

var payload = []byte("xxxxxxxxxxxxxxxx") // 16 B, as the other rows

func warmup(s float64) time.Duration {
	return time.Duration(math.Max(0.1, s/10) * float64(time.Second))
}

func pct(sorted []time.Duration, p float64) any {
	if len(sorted) == 0 {
		return nil // n/a (JSON has no NaN)
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = max(1, min(len(sorted), rank))
	return math.Round(float64(sorted[rank-1].Nanoseconds())/100) / 10
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "actors-gobench:", err)
		os.Exit(1)
	}
}

func main() {
	ep := flag.String("endpoint", "", "broker endpoint")
	addr := flag.String("address", "", "echo actor's address")
	secs := flag.Float64("seconds", 1, "seconds per workload")
	flag.Parse()
	c, err := actors.New(actors.Options{Endpoint: *ep})
	must(err)
	defer c.Close()
	ctx := context.Background()
	call := func() *actors.Future { return c.Call(ctx, *addr, "echo", payload) }
	measure := time.Duration(*secs * float64(time.Second))
	figures := map[string]any{}

	// sequential
	start := time.Now()
	warm, end := start.Add(warmup(*secs)), start.Add(warmup(*secs)+measure)
	var samples []time.Duration
	for {
		t0 := time.Now()
		if !t0.Before(end) {
			break
		}
		must(call().Err())
		if !t0.Before(warm) {
			samples = append(samples, time.Since(t0))
		}
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	figures["seq_p50_us"] = pct(samples, 50)
	figures["seq_p99_us"] = pct(samples, 99)
	figures["seq_p999_us"] = pct(samples, 99.9)
	figures["seq_calls_per_s"] = math.Round(float64(len(samples)) / *secs)

	// pipelined windows, oldest awaited first
	for _, w := range []int{1, 16, 256, 4096} {
		start := time.Now()
		warm, end := start.Add(warmup(*secs)), start.Add(warmup(*secs)+measure)
		q := make([]*actors.Future, 0, w)
		done, doneWarm := 0, -1
		var t, tWarm time.Time
		for {
			for len(q) < w {
				q = append(q, call())
			}
			must(q[0].Err())
			q = q[1:]
			done++
			t = time.Now()
			if doneWarm < 0 && !t.Before(warm) {
				doneWarm, tWarm = done, t
			}
			if !t.Before(end) {
				break
			}
		}
		for _, f := range q {
			must(f.Err())
		}
		rate := float64(done) / time.Since(start).Seconds()
		if doneWarm >= 0 && t.After(tWarm) && done-doneWarm >= w {
			rate = float64(done-doneWarm) / t.Sub(tWarm).Seconds()
		}
		figures[fmt.Sprintf("pipelined_w%d_calls_per_s", w)] = math.Round(rate)
	}
	figures["pipelined_calls_per_s"] = figures["pipelined_w256_calls_per_s"]

	// acknowledged tells in batches of 1000, each closed by a call
	start = time.Now()
	warm, end = start.Add(warmup(*secs)), start.Add(warmup(*secs)+measure)
	batches, atWarm := 0, -1
	var t, tWarm time.Time
	acks := make([]*actors.Future, 1000)
	for {
		for i := range acks {
			acks[i] = c.Tell(ctx, *addr, "echo", payload)
		}
		must(call().Err())
		for _, a := range acks {
			must(a.Err())
		}
		batches++
		t = time.Now()
		if atWarm < 0 && !t.Before(warm) {
			atWarm, tWarm = batches, t
		}
		if !t.Before(end) {
			break
		}
	}
	rate := float64(batches*1000) / t.Sub(start).Seconds()
	if atWarm >= 0 && batches > atWarm && t.After(tWarm) {
		rate = float64((batches-atWarm)*1000) / t.Sub(tWarm).Seconds()
	}
	figures["tells_per_s"] = math.Round(rate)
	must(json.NewEncoder(os.Stdout).Encode(figures))
}
