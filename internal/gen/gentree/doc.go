// Command gentree writes a synthetic GitOps tree for benchmarks (see package gen).
//
//	go run ./internal/gen/gentree -out /tmp/tree [-files 10000] [-mb 50] [-markers 2000] [-policies 200] [-seed 1]
package main
