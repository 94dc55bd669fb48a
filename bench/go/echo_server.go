// echo_server.go — peer of row 5: a Go TCP echo server, one goroutine per
// connection (read -> write loop), GOMAXPROCS=1.
//
// Prints "listening on 127.0.0.1:<port>" like native/examples/echo_server
// (--port 0, the default, lets the kernel pick the port) and exits 0 on
// SIGINT or SIGTERM.
//
// usage: echo_server [--port N] [--host 127.0.0.1]
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"syscall"
)

func serve(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 16384)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func main() {
	runtime.GOMAXPROCS(1)
	port := flag.Int("port", 0, "TCP port (0: any)")
	host := flag.String("host", "127.0.0.1", "IPv4 address to listen on")
	flag.Parse()

	ln, err := net.Listen("tcp4", net.JoinHostPort(*host, fmt.Sprint(*port)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo_server:", err)
		os.Exit(1)
	}
	addr := ln.Addr().(*net.TCPAddr)
	fmt.Printf("listening on %s:%d\n", addr.IP, addr.Port)
	os.Stdout.Sync()

	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				if ne, ok := err.(net.Error); ok && ne.Temporary() {
					continue
				}
				return
			}
			go serve(c)
		}
	}()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	ln.Close()
}
