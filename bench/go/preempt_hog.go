// preempt_hog.go — peer of the preempt_latency row: native/examples/cpu_hog.c
// in Go.
//
// A goroutine spins in pure computation (no calls in the inner loop; the
// clock is read every 2^20 rounds) next to a ticker goroutine that keeps a
// 10 ms rhythm with time.Sleep. Only preemption can give the ticker its P
// while the hog runs (run it with GOMAXPROCS=1; the program also sets it).
// Each tick's lateness is how late it woke up compared with its 10 ms
// rhythm, computed exactly as cpu_hog does.
//
// Output (the last line, same as cpu_hog --quiet):
//   ticks=N lateness_p50_ms=X lateness_p99_ms=Y lateness_max_ms=Z
//
// usage: preempt_hog [seconds] [--quiet]
package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

const tickNs = int64(10 * time.Millisecond)
const maxTicks = 100000

var (
	t0      = time.Now()
	hogDone int32
	quiet   bool
	sink    uint64
)

// Monotonic nanoseconds since start (time.Since uses the monotonic clock).
func nowNs() int64 { return int64(time.Since(t0)) }

func hog(seconds float64) {
	x := uint64(88172645463325252)
	end := nowNs() + int64(seconds*1e9)
	for {
		for i := 0; i < 1<<20; i++ {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
		}
		if nowNs() >= end {
			break
		}
	}
	sink = x
	atomic.StoreInt32(&hogDone, 1)
}

func ticker(lateness *[]int64) {
	next := nowNs() + tickNs
	for n := 0; atomic.LoadInt32(&hogDone) == 0 && n < maxTicks; n++ {
		now := nowNs()
		if next > now {
			// cpu_hog sleeps whole microseconds (usleep); so does this.
			time.Sleep(time.Duration((next-now)/1000) * time.Microsecond)
		}
		now = nowNs()
		late := int64(0)
		if now > next {
			late = now - next
		}
		*lateness = append(*lateness, late)
		if !quiet {
			fmt.Printf("tick %d +%.1f ms\n", n, float64(now)/1e6)
		}
		next += tickNs
		if next < now {
			next = now + tickNs // after a stall, keep the rhythm from here
		}
	}
}

func main() {
	runtime.GOMAXPROCS(1)
	seconds := 1.0
	for _, a := range os.Args[1:] {
		if a == "--quiet" {
			quiet = true
		} else if v, err := strconv.ParseFloat(a, 64); err == nil {
			seconds = v
		}
	}
	if seconds <= 0 {
		seconds = 1.0
	}
	var lateness []int64
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); hog(seconds) }()
	go func() { defer wg.Done(); ticker(&lateness) }()
	wg.Wait()
	n := len(lateness)
	if n == 0 {
		fmt.Println("ticks=0 (the ticker never ran while the hog ran)")
		return
	}
	sort.Slice(lateness, func(i, j int) bool { return lateness[i] < lateness[j] })
	fmt.Printf("ticks=%d lateness_p50_ms=%.2f lateness_p99_ms=%.2f lateness_max_ms=%.2f\n", n,
		float64(lateness[n/2])/1e6, float64(lateness[(n*99)/100])/1e6, float64(lateness[n-1])/1e6)
}
