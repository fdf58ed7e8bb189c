// gccgo, the main client of the split-stack runtime: 2000 goroutines that
// each recurse through their split stacks, and 100000 messages over a
// channel (goroutine switches: __splitstack_getcontext/setcontext on every
// one).  tests/run.sh builds it with libsplitstack in place of
// libgcc's runtime: static libgo (-static-libgo; the link map must show no
// libgcc split-stack object), shared libgo (whose private runtime copy then
// works on this runtime's thread state), and with the shared library.
package main

import (
	"fmt"
	"os"
	"sync"
)

func deep(n int) int {
	var buf [512]byte
	buf[n%512] = byte(n)
	if n == 0 {
		return 0
	}
	return deep(n-1) + 1 + int(buf[n%512]) - int(byte(n))
}

func main() {
	const G = 2000
	var wg sync.WaitGroup
	results := make([]int, G)
	for i := 0; i < G; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = deep(1000 + i%500)
		}(i)
	}
	wg.Wait()
	for i := 0; i < G; i++ {
		if results[i] != 1000+i%500 {
			fmt.Println("FAIL", i, results[i])
			os.Exit(1)
		}
	}
	ch := make(chan int)
	done := make(chan bool)
	go func() {
		s := 0
		for v := range ch {
			s += v
		}
		done <- s == 100000*99999/2
	}()
	for i := 0; i < 100000; i++ {
		ch <- i
	}
	close(ch)
	if !<-done {
		fmt.Println("FAIL ping-pong")
		os.Exit(1)
	}
	fmt.Println("gccgo: 2000 goroutines recursed, 100000 channel messages: ok")
}
