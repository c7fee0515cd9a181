package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// shutdownGrace is how long tagflow waits after SIGTERM or SIGINT for the work in progress
// to end before it exits anyway: the 30 s a commit or push in flight gets
// (automation.Options.ShutdownGrace's default), and 5 s to write the status snapshot and
// close the store. A second signal exits at once.
const shutdownGrace = 35 * time.Second

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go exitAfterSignal(sigs, cancel, os.Stderr, shutdownGrace, os.Exit)
	reloads = reloadOnHangup()
	code := execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	os.Exit(code)
}

// reloads receives when the process gets SIGHUP: tagflow run reads its objects and secrets
// again. Nil (never) when execute is called without main, as tests do.
var reloads <-chan struct{}

// reloadOnHangup turns SIGHUP into reload requests, several pending ones counting as one.
// The other commands ignore SIGHUP instead of dying of it.
func reloadOnHangup() <-chan struct{} {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	out := make(chan struct{}, 1)
	go func() {
		for range hup {
			select {
			case out <- struct{}{}:
			default:
			}
		}
	}()
	return out
}

// exitAfterSignal cancels the command's context at the first signal on sigs. If the
// process is still running grace later, or at a second signal, it says so on stderr and
// exits with status 1 whatever is still running: nothing tagflow does may keep it from
// stopping.
func exitAfterSignal(sigs <-chan os.Signal, cancel context.CancelFunc, stderr io.Writer, grace time.Duration, exit func(int)) {
	sig := <-sigs
	cancel()
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-timer.C:
		fmt.Fprintf(stderr, "tagflow: still running %s after the signal (%s); exiting without waiting for the work in progress\n", grace, sig)
	case again := <-sigs:
		fmt.Fprintf(stderr, "tagflow: second signal (%s); exiting without waiting for the work in progress\n", again)
	}
	exit(exitFailure)
}
