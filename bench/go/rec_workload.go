// rec_workload.go — peer of the recording rows (bench/rec_rows.mjs): the
// workload of c/rec_workload.c in Go, optionally under runtime/trace.
//
// `goroutines` goroutines in pairs (default GOMAXPROCS). Each pair: a leader,
// started by main, creates a socketpair(AF_UNIX, SOCK_STREAM) (both ends go
// through net.FileConn, so reads and writes use Go's netpoller, as the
// engine's hooks use its own) and starts its follower; then each of the two
// runs `rounds` rounds of
//
//	runtime.Gosched();
//	every 4th round (round % 4 == 3): time.Sleep(50 µs);
//	ping-pong: the leader writes 1 byte and reads the answer, the follower
//	           reads it and writes it back;
//
// then the leader waits for its follower and closes both ends. main starts
// the leaders in batches of at most `batch` pairs and waits for each batch
// (as the C program does).
//
// With -trace FILE, runtime/trace records from the start of main to the end
// of the work (trace.Start before anything else, trace.Stop after the last
// batch, the file closed): Go's execution tracer, the peer of our recorder.
//
// Output (stdout, one line of JSON): the operation counts as in the C
// program, and elapsed_ns (start of main to the end of the work, tracing
// stopped and the file closed).
//
// usage: rec_workload [-trace FILE] [goroutines (even, >= 2)] [rounds (30)] [batch pairs (1000)]
package main

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/trace"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var rounds = 30

type counts struct {
	yields, sleeps, writes, reads, socketpairs, closes, failures int64
}

var total counts
var mu sync.Mutex

func (c *counts) add() {
	mu.Lock()
	total.yields += c.yields
	total.sleeps += c.sleeps
	total.writes += c.writes
	total.reads += c.reads
	total.socketpairs += c.socketpairs
	total.closes += c.closes
	total.failures += c.failures
	mu.Unlock()
}

func xfer(conn net.Conn, sendFirst bool, c *counts) {
	b := []byte{'x'}
	for step := 0; step < 2; step++ {
		var n int
		var err error
		if (step == 0) == sendFirst {
			n, err = conn.Write(b)
			c.writes++
		} else {
			n, err = conn.Read(b)
			c.reads++
		}
		if n != 1 || err != nil {
			c.failures++
		}
	}
}

func play(conn net.Conn, leader bool, c *counts) {
	for r := 0; r < rounds; r++ {
		runtime.Gosched()
		c.yields++
		if r%4 == 3 {
			time.Sleep(50 * time.Microsecond)
			c.sleeps++
		}
		xfer(conn, leader, c)
	}
}

// fileConn turns one end of the socketpair into a net.Conn on the netpoller
// (net.FileConn dups the fd; the original is closed here).
func fileConn(fd int) (net.Conn, error) {
	f := os.NewFile(uintptr(fd), "socketpair")
	defer f.Close()
	return net.FileConn(f)
}

func leader(wg *sync.WaitGroup) {
	defer wg.Done()
	var c counts
	defer c.add()
	c.socketpairs++
	sv, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		c.failures++
		return
	}
	a, errA := fileConn(sv[0])
	b, errB := fileConn(sv[1])
	if errA != nil || errB != nil {
		c.failures++
		return
	}
	var fw sync.WaitGroup
	fw.Add(1)
	go func() {
		defer fw.Done()
		var fc counts
		play(b, false, &fc)
		fc.add()
	}()
	play(a, true, &c)
	fw.Wait()
	a.Close()
	b.Close()
	c.closes += 2
}

func main() {
	t0 := time.Now()
	args := os.Args[1:]
	tracePath := ""
	if len(args) >= 2 && args[0] == "-trace" {
		tracePath = args[1]
		args = args[2:]
	}
	var tf *os.File
	if tracePath != "" {
		var err error
		if tf, err = os.Create(tracePath); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := trace.Start(tf); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	arg := func(i, def int) int {
		if i < len(args) {
			v, err := strconv.Atoi(args[i])
			if err != nil {
				return -1
			}
			return v
		}
		return def
	}
	n := arg(0, 2000)
	rounds = arg(1, 30)
	batch := arg(2, 1000)
	if n < 2 || n%2 != 0 || rounds < 1 || batch < 1 {
		fmt.Fprintln(os.Stderr, "usage: rec_workload [-trace FILE] [goroutines (even, >= 2)] [rounds >= 1] [batch pairs >= 1]")
		os.Exit(2)
	}
	pairs := n / 2
	var started int64
	for done := 0; done < pairs; {
		k := batch
		if pairs-done < k {
			k = pairs - done
		}
		var wg sync.WaitGroup
		wg.Add(k)
		for i := 0; i < k; i++ {
			atomic.AddInt64(&started, 1)
			go leader(&wg)
		}
		wg.Wait()
		done += k
	}
	if tf != nil {
		trace.Stop()
		if err := tf.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	elapsed := time.Since(t0)
	fmt.Printf("{\"goroutines\":%d,\"rounds\":%d,\"yields\":%d,\"usleeps\":%d,\"writes\":%d,\"reads\":%d,\"socketpairs\":%d,\"closes\":%d,\"failures\":%d,\"gomaxprocs\":%d,\"elapsed_ns\":%d}\n",
		n, rounds, total.yields, total.sleeps, total.writes, total.reads, total.socketpairs, total.closes, total.failures,
		runtime.GOMAXPROCS(0), elapsed.Nanoseconds())
	if total.failures != 0 {
		os.Exit(1)
	}
}
