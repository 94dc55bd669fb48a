// sleep100k.go — peer of row 4: n goroutines each time.Sleep(100ms), joined
// with a sync.WaitGroup. Default GOMAXPROCS.
//
//	wall_s       first `go` statement .. wg.Wait() returning
//	rss_per_co   (VmHWM after - VmRSS before spawning) / n, from /proc/self/status
//	max_live     most goroutines inside time.Sleep at once
//
// Output: {"n":N,"spawn_s":x,"wall_s":x,"rss_before_kib":a,"hwm_kib":b,"rss_per_co_bytes":y,"max_live":m}
//
// usage: sleep100k [goroutines] [sleep_us]
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func statusKiB(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, field+":") {
			fs := strings.Fields(line[len(field)+1:])
			if len(fs) > 0 {
				v, _ := strconv.ParseInt(fs[0], 10, 64)
				return v
			}
		}
	}
	return -1
}

func main() {
	n, sleepUs := 100000, 100000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	if len(os.Args) > 2 {
		sleepUs, _ = strconv.Atoi(os.Args[2])
	}
	if n < 1 {
		fmt.Fprintln(os.Stderr, "usage: sleep100k [goroutines>0] [sleep_us]")
		os.Exit(2)
	}
	d := time.Duration(sleepUs) * time.Microsecond
	var live, liveMax int64
	var wg sync.WaitGroup
	// warm-up: start the runtime's threads outside the measurement
	wg.Add(1)
	go func() { wg.Done() }()
	wg.Wait()

	rss0 := statusKiB("VmRSS")
	t0 := time.Now()
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			l := atomic.AddInt64(&live, 1)
			for {
				m := atomic.LoadInt64(&liveMax)
				if l <= m || atomic.CompareAndSwapInt64(&liveMax, m, l) {
					break
				}
			}
			time.Sleep(d)
			atomic.AddInt64(&live, -1)
			wg.Done()
		}()
	}
	tSpawned := time.Now()
	wg.Wait()
	t1 := time.Now()
	hwm := statusKiB("VmHWM")
	fmt.Printf("{\"n\":%d,\"spawn_s\":%.6f,\"wall_s\":%.6f,\"rss_before_kib\":%d,\"hwm_kib\":%d,\"rss_per_co_bytes\":%.1f,\"max_live\":%d}\n",
		n, tSpawned.Sub(t0).Seconds(), t1.Sub(t0).Seconds(), rss0, hwm, float64(hwm-rss0)*1024/float64(n), atomic.LoadInt64(&liveMax))
}
