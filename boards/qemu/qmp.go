package qemu

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

// QMPTimeout bounds one QMP command's round trip.
const QMPTimeout = 30 * time.Second

// QMP is a client of QEMU's machine protocol on a unix socket: JSON
// objects one per line, a greeting, capabilities negotiation, then
// {"execute":…} answered by {"return":…} or {"error":…}, with
// asynchronous {"event":…} objects in between (kept in Events). Its
// methods are safe for concurrent use; they run one command at a time.
type QMP struct {
	mu     sync.Mutex
	conn   net.Conn
	rd     *bufio.Reader
	events []Event
}

// Event is one asynchronous QMP event (SHUTDOWN, RESET, STOP…).
type Event struct {
	Event     string          `json:"event"`
	Data      json.RawMessage `json:"data,omitempty"`
	Timestamp struct {
		Seconds      int64 `json:"seconds"`
		Microseconds int64 `json:"microseconds"`
	} `json:"timestamp"`
}

// QMPError is an {"error":…} reply.
type QMPError struct {
	Command string
	Class   string `json:"class"`
	Desc    string `json:"desc"`
}

func (e *QMPError) Error() string {
	return fmt.Sprintf("qmp %s: %s: %s", e.Command, e.Class, e.Desc)
}

// Status is the reply of query-status.
type Status struct {
	Status  string `json:"status"` // "running", "paused", "shutdown", "prelaunch"…
	Running bool   `json:"running"`
}

// message is any object QEMU sends.
type message struct {
	QMP    json.RawMessage `json:"QMP"` // the greeting
	Return json.RawMessage `json:"return"`
	Error  *QMPError       `json:"error"`
	Event  string          `json:"event"`
}

// DialQMP connects to the QMP socket at path, retrying until QEMU has
// created it or ctx ends, then reads the greeting and negotiates
// capabilities (qmp_capabilities), after which commands are accepted.
func DialQMP(ctx context.Context, path string) (*QMP, error) {
	var d net.Dialer
	for {
		conn, err := d.DialContext(ctx, "unix", path)
		if err == nil {
			q := &QMP{conn: conn, rd: bufio.NewReader(conn)}
			if err := q.handshake(); err != nil {
				conn.Close()
				return nil, fmt.Errorf("qmp %s: %w", path, err)
			}
			return q, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("qmp %s: %w (%v)", path, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (q *QMP) handshake() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	_ = q.conn.SetDeadline(time.Now().Add(QMPTimeout))
	m, err := q.read()
	if err != nil {
		return fmt.Errorf("reading the greeting: %w", err)
	}
	if m.QMP == nil {
		return fmt.Errorf("no greeting, got %+v", m)
	}
	return q.execute("qmp_capabilities", nil, nil)
}

// read returns the next object from QEMU.
func (q *QMP) read() (message, error) {
	line, err := q.rd.ReadBytes('\n')
	if err != nil {
		if errors.Is(err, io.EOF) && len(line) == 0 {
			return message{}, io.EOF
		}
		if len(line) == 0 {
			return message{}, err
		}
	}
	var m message
	if err := json.Unmarshal(line, &m); err != nil {
		return message{}, fmt.Errorf("bad reply %q: %w", line, err)
	}
	if m.Event != "" {
		var e Event
		if json.Unmarshal(line, &e) == nil {
			q.events = append(q.events, e)
		}
	}
	return m, nil
}

// Execute runs command with args (nil for none) and decodes its return
// value into result (nil to ignore it). An {"error":…} reply is a
// *QMPError.
func (q *QMP) Execute(command string, args, result any) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	_ = q.conn.SetDeadline(time.Now().Add(QMPTimeout))
	return q.execute(command, args, result)
}

func (q *QMP) execute(command string, args, result any) error {
	req := map[string]any{"execute": command}
	if args != nil {
		req["arguments"] = args
	}
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if _, err := q.conn.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("qmp %s: %w", command, err)
	}
	for {
		m, err := q.read()
		if err != nil {
			return fmt.Errorf("qmp %s: %w", command, err)
		}
		switch {
		case m.Error != nil:
			m.Error.Command = command
			return m.Error
		case m.Return != nil:
			if result == nil {
				return nil
			}
			if err := json.Unmarshal(m.Return, result); err != nil {
				return fmt.Errorf("qmp %s: return %s: %w", command, m.Return, err)
			}
			return nil
		}
		// an event (or a stray greeting): wait for the reply
	}
}

// SystemReset resets the machine as its reset button would: no guest
// shutdown, whatever was not on disk is lost. QEMU started without
// Options.Reboot exits instead (-no-reboot).
func (q *QMP) SystemReset() error { return q.Execute("system_reset", nil, nil) }

// QueryStatus returns the machine's run state.
func (q *QMP) QueryStatus() (Status, error) {
	var s Status
	err := q.Execute("query-status", nil, &s)
	return s, err
}

// Quit ends QEMU at once. QEMU may close the socket before or after its
// reply; both count as success.
func (q *QMP) Quit() error {
	err := q.Execute("quit", nil, nil)
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) {
		return nil
	}
	return err
}

// Events returns the events received so far, oldest first.
func (q *QMP) Events() []Event {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]Event(nil), q.events...)
}

// Close closes the connection.
func (q *QMP) Close() error { return q.conn.Close() }

// ErrNoQMP is returned by VM.QMP when the VM was started without
// Options.QMP.
var ErrNoQMP = errors.New("qemu started without a QMP socket")

// QMP returns the VM's QMP client, connecting on the first call (QEMU
// serves one client at a time). It is closed when QEMU exits.
func (v *VM) QMP() (*QMP, error) {
	if v.opts.QMP == "" {
		return nil, ErrNoQMP
	}
	v.mu.Lock()
	q := v.qmp
	v.mu.Unlock()
	if q != nil {
		return q, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), QMPTimeout)
	defer cancel()
	go func() {
		select {
		case <-v.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	q, err := DialQMP(ctx, v.opts.QMP)
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.qmp != nil { // a concurrent call won
		q.Close()
		return v.qmp, nil
	}
	if v.exited {
		q.Close()
		return nil, fmt.Errorf("qmp %s: %w", v.opts.QMP, ErrExited)
	}
	v.qmp = q
	return q, nil
}
