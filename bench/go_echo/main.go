// SPDX-License-Identifier: MIT

// go_echo is the Go reference server of the echo benchmarks: one goroutine per connection, a
// plain Read/Write loop, nothing else. It is what netpollsim's echo scenario models, so the
// sim/Go ratio compares the C model with the real runtime doing the same work. It avoids
// io.Copy on purpose: TCP-to-TCP copies go through splice(2) and a pipe pair, a different
// syscall pattern from the Read/Write loop the sim runs (spec section 9). GOMAXPROCS comes
// from the environment, as for any Go program. Built by bench/bench.mk with Debian's Go 1.22
// into build/bench/go_echo; it prints "listening on HOST:PORT" once it accepts connections.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on, HOST:PORT (port 0: any free port)")
	bufSize := flag.Int("buf", 4096, "read buffer of each connection, bytes")
	flag.Parse()
	if *bufSize < 1 {
		fmt.Fprintf(os.Stderr, "go_echo: -buf %d: expected at least 1 byte\n", *bufSize)
		os.Exit(2)
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "go_echo: %v\n", err)
		os.Exit(1)
	}
	// SIGINT/SIGTERM are a normal stop for a benchmark server: exit 0, not Go's status 2.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		sig := <-stop
		// Say so: a server that vanishes in the middle of a run must leave a trace.
		fmt.Fprintf(os.Stderr, "go_echo: stopped by %v\n", sig)
		os.Exit(0)
	}()
	fmt.Printf("listening on %s (GOMAXPROCS %d, %s)\n", ln.Addr(), runtime.GOMAXPROCS(0), runtime.Version())

	for {
		c, err := ln.Accept()
		if err != nil {
			// EMFILE and friends: say so and retry shortly, as net/http's Serve does,
			// rather than spin or give up on the connections already served.
			fmt.Fprintf(os.Stderr, "go_echo: %v\n", err)
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				fmt.Fprintln(os.Stderr, "go_echo: out of file descriptors: raise ulimit -n")
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go serve(c, *bufSize)
	}
}

// serve echoes everything it reads until the peer closes or an error occurs.
func serve(c net.Conn, size int) {
	defer c.Close()
	buf := make([]byte, size)
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
