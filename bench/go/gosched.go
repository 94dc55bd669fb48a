// gosched.go — peer of row 2: runtime.Gosched() with GOMAXPROCS=1.
//
// Two goroutines each call runtime.Gosched() n times on one P. Reported: ns
// per yield = (first goroutine start .. last goroutine end) / (2n), measured
// inside the goroutines like the C benchmark. A warm-up round runs first.
//
// Output: {"yields_per_round":N,"ns_per_yield":[...]}
//
// usage: gosched [yields_per_goroutine] [rounds]
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

func round(n int) float64 {
	var wg sync.WaitGroup
	var starts, ends [2]time.Time
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			starts[g] = time.Now()
			for i := 0; i < n; i++ {
				runtime.Gosched()
			}
			ends[g] = time.Now()
		}(g)
	}
	wg.Wait()
	s := starts[0]
	if starts[1].Before(s) {
		s = starts[1]
	}
	e := ends[0]
	if ends[1].After(e) {
		e = ends[1]
	}
	return float64(e.Sub(s).Nanoseconds()) / float64(2*n)
}

func main() {
	runtime.GOMAXPROCS(1)
	n, rounds := 2000000, 3
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	if len(os.Args) > 2 {
		rounds, _ = strconv.Atoi(os.Args[2])
	}
	if n < 1 || rounds < 1 {
		fmt.Fprintln(os.Stderr, "usage: gosched [yields_per_goroutine>0] [rounds>0]")
		os.Exit(2)
	}
	round(n/10 + 1)
	out := make([]string, rounds)
	for r := range out {
		out[r] = strconv.FormatFloat(round(n), 'f', 4, 64)
	}
	fmt.Printf("{\"yields_per_round\":%d,\"ns_per_yield\":[%s]}\n", 2*n, strings.Join(out, ","))
}
