// Command crash panics in the way its argument names, for linetab's tests:
// its tracebacks have inlined frames, a faulting pc, a method, a generic
// function, a closure and a goroutine's "created by".
package main

import (
	"os"
	"runtime"
)

type box struct{ m map[string]int }

// set is small enough to be inlined into its callers.
func (b *box) set(k string) { b.m[k]++ }

// twice calls set, and is inlined too: two inlined frames at one pc.
func twice(b *box, k string) { b.set(k); b.set(k) }

//go:noinline
func deep(n int, b *box) int {
	if n == 0 {
		twice(b, "x")
		return 0
	}
	return deep(n-1, b) + 1
}

type number interface{ ~int | ~int64 }

//go:noinline
func div[T number](a, b T) T { return a / b }

//go:noinline
func deref(p *int) int { return *p + 1 }

func main() {
	runtime.GC()
	switch os.Args[1] {
	case "map": // a runtime panic through inlined frames and recursion
		deep(2, &box{})
	case "nil": // a fault: SIGSEGV at a known pc
		var p *int
		os.Exit(deref(p))
	case "generic": // an integer divide by zero in a generic function
		os.Exit(div(1, len(os.Args)-2))
	case "goroutine": // a panic in a goroutine's closure
		done := make(chan int)
		go func() {
			deep(1, &box{})
			close(done)
		}()
		<-done
	}
}
