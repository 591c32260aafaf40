package debugshell

import (
	"bytes"
	"context"
	"io"
	"time"

	"pantavisor/lib/sentinel"
)

// DefaultTimeout is how long Hold waits for an open shell when
// Options.Timeout is 0 (PV_DEBUG_SHELL_TIMEOUT's default).
const DefaultTimeout = 60 * time.Second

// ErrNoContainer is why no shell starts: the running revision has no
// container with the mgmt role.
var ErrNoContainer error = &sentinel.Error{Text: "no mgmt container to open a shell in"}

// Process is a started shell.
type Process interface {
	// Wait waits until the shell ended; it is called once.
	Wait() error
	// Stop asks the shell to end now (hang-up, then kill); Wait then
	// returns.
	Stop()
}

// Options configure a Shell. Console, Start and View are required.
type Options struct {
	// Console is read for Enter, only while no shell is open.
	Console io.Reader
	// Start starts a login shell on the console.
	Start func() (Process, error)
	// View is the console log, held while a shell is open; messages go
	// to it (View.Say).
	View *View
	// Timeout is how long Hold waits for an open shell
	// (PV_DEBUG_SHELL_TIMEOUT); DefaultTimeout when 0.
	Timeout time.Duration
	// Autologin opens the first shell at once, without Enter
	// (PV_DEBUG_SHELL_AUTOLOGIN).
	Autologin bool
	// After is the clock; time.After when nil.
	After func(time.Duration) <-chan time.Time
}

// Shell is the console debug shell. New makes it; Run runs it until its
// context ends; Hold and Defer may be called from any goroutine while Run
// runs.
type Shell struct {
	o      Options
	enter  chan struct{}      // the reader saw Enter
	rearm  chan struct{}      // the reader may read the console again
	exited chan error         // the open shell ended
	holds  chan hold          // Hold's requests
	defers chan time.Duration // Defer's requests
	done   chan struct{}      // Run returned

	// Owned by Run's goroutine.
	proc     Process
	ending   bool             // a Hold came: no new shell
	waiting  []chan struct{}  // Holds waiting for the shell to close
	deadline <-chan time.Time // when waiting: the timeout
}

// New returns a Shell for o; it does nothing until Run.
func New(o Options) *Shell {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.After == nil {
		o.After = time.After
	}
	return &Shell{o: o, enter: make(chan struct{}), rearm: make(chan struct{}, 1),
		exited: make(chan error, 1), holds: make(chan hold),
		defers: make(chan time.Duration), done: make(chan struct{})}
}

// Run runs the shell until ctx ends. Steps: say how to open a shell;
// start the console reader (and the first shell with Autologin); then,
// one event at a time: Enter opens a shell (the view paused), its end
// resumes the view and lets the reader read again, a Hold waits for it
// up to Timeout (then stops it), a Defer moves that timeout. When ctx
// ends an open shell is stopped, the view resumed and every Hold
// released.
func (s *Shell) Run(ctx context.Context) {
	defer close(s.done)
	s.o.View.Say("debug shell: press Enter on the console for a shell in the mgmt container")
	go s.read(ctx)
	if s.o.Autologin {
		s.open()
	} else {
		s.rearm <- struct{}{}
	}
	for {
		select {
		case <-ctx.Done():
			s.shutdown()
			return
		case <-s.enter:
			s.onEnter()
		case err := <-s.exited:
			s.onExit(err)
		case h := <-s.holds:
			s.onHold(h)
		case d := <-s.defers:
			s.onDefer(d)
		case <-s.deadline:
			s.o.View.Say("debug shell: timeout: closing it")
			s.deadline = nil
			s.proc.Stop()
		}
	}
}

// read reads the console while armed; a read with a line end (Enter)
// disarms it until Run rearms it. It ends with ctx or a read error.
func (s *Shell) read(ctx context.Context) {
	buf := make([]byte, 64)
	for {
		select {
		case <-s.rearm:
		case <-ctx.Done():
			return
		}
		for {
			n, err := s.o.Console.Read(buf)
			if err != nil {
				return
			}
			if bytes.ContainsAny(buf[:n], "\r\n") {
				break
			}
		}
		select {
		case s.enter <- struct{}{}:
		case <-ctx.Done():
			return
		}
	}
}

// onEnter opens a shell, unless the device is going down.
func (s *Shell) onEnter() {
	if s.ending {
		s.o.View.Say("debug shell: the device is going down: no new shell")
		return
	}
	s.open()
}

// open pauses the view and starts a shell; on failure it says why,
// resumes the view and rearms the reader.
func (s *Shell) open() {
	s.o.View.Say("debug shell: opening (the console log is held until it closes: exit or Ctrl-D)")
	s.o.View.Pause()
	p, err := s.o.Start()
	if err != nil {
		s.o.View.Resume()
		s.o.View.Say("debug shell: %v", err)
		s.rearm <- struct{}{}
		return
	}
	s.proc = p
	go func() { s.exited <- p.Wait() }()
}

// onExit resumes the view; it releases the Holds, or rearms the reader.
func (s *Shell) onExit(err error) {
	s.proc = nil
	s.o.View.Resume()
	if err != nil {
		s.o.View.Say("debug shell closed: %v", err)
	} else {
		s.o.View.Say("debug shell closed")
	}
	if s.ending {
		s.release()
		return
	}
	s.rearm <- struct{}{}
}

// hold is one Hold's request: done is closed to release it.
type hold struct {
	why  string
	done chan struct{}
}

// onHold makes h wait for the open shell (none: released at once).
func (s *Shell) onHold(h hold) {
	s.ending = true
	if s.proc == nil {
		close(h.done)
		return
	}
	s.waiting = append(s.waiting, h.done)
	if s.deadline == nil {
		s.deadline = s.o.After(s.o.Timeout)
		s.o.View.Say("%s: waiting for the debug shell to close (exit it; it is closed in %s; "+
			"more time: pv-ctl cmd defer-reboot SECONDS)", h.why, s.o.Timeout)
	}
}

// onDefer restarts the running timeout with d.
func (s *Shell) onDefer(d time.Duration) {
	if s.deadline == nil {
		s.o.View.Say("debug shell: defer-reboot: no reboot is waiting for the shell")
		return
	}
	s.deadline = s.o.After(d)
	s.o.View.Say("debug shell: reboot deferred: the shell is closed in %s", d)
}

// release lets every waiting Hold return.
func (s *Shell) release() {
	for _, h := range s.waiting {
		close(h)
	}
	s.waiting, s.deadline = nil, nil
}

// shutdown stops an open shell and waits for it, then releases the Holds.
func (s *Shell) shutdown() {
	if s.proc != nil {
		s.proc.Stop()
		_ = <-s.exited // how a stopped shell exited does not matter
		s.proc = nil
		s.o.View.Resume()
	}
	s.ending = true
	s.release()
}

// Hold returns once no debug shell is open: at once when none is, else
// when it closes or Timeout (Defer moves it) has passed and it was
// stopped; why starts the console message. From then on Enter opens no
// new shell. It also returns when ctx ends or Run has returned.
func (s *Shell) Hold(ctx context.Context, why string) {
	h := hold{why, make(chan struct{})}
	select {
	case s.holds <- h:
	case <-ctx.Done():
		return
	case <-s.done:
		return
	}
	select {
	case <-h.done:
	case <-ctx.Done():
	case <-s.done:
	}
}

// Defer restarts the timeout of a Hold in progress with d (upstream's
// DEFER_REBOOT); without one it only says so.
func (s *Shell) Defer(ctx context.Context, d time.Duration) {
	select {
	case s.defers <- d:
	case <-ctx.Done():
	case <-s.done:
	}
}
