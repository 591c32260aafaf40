// Package connlimit shares a socket's connection budget between caller
// classes, so that no container can take the slots of the host or of the
// mgmt containers.
//
// A budget of Max connections is split by Limits: Host slots only host
// callers may take, Mgmt slots only mgmt containers may take, and the rest
// shared by everyone; each other container (a non-mgmt container, or a
// caller that cannot be named) holds at most PerContainer connections.
// The host and mgmt may also use the shared slots, so a non-mgmt container
// can never hold more than Max-Host-Mgmt, and a full socket still admits
// the host and mgmt until their reserved slots are used.
package connlimit

// Class is the kind of caller a connection comes from.
type Class uint8

// The caller classes; the zero value is the least trusted.
const (
	Other Class = iota // a container without the mgmt role, or a caller that cannot be named
	Mgmt               // a container with the mgmt role
	Host               // Pantavisor itself and host processes (upstream's "_pv_")
	numClasses
)

// String returns the class's name as logs show it.
func (c Class) String() string {
	switch c {
	case Other:
		return "container"
	case Mgmt:
		return "mgmt"
	case Host:
		return "host"
	}
	return "class?"
}

// Peer is the caller of a connection: its class and, for Other, the name
// its connections are counted under (its container; "" for callers that
// cannot be named, counted together).
type Peer struct {
	Class Class
	Name  string
}

// Limits splits a budget of connections between the classes. The zero
// value reserves nothing and caps no container: one pool for all.
type Limits struct {
	Host         int // slots only the host may take
	Mgmt         int // slots only mgmt containers may take
	PerContainer int // connections at most of one Other peer; 0: no cap but the pool's
}

// Table counts a socket's open connections by class against Max and
// Limits. Its owner serialises the calls (Table has no lock). The zero
// value admits nothing; make it with New.
type Table struct {
	max  int
	lim  Limits
	open [numClasses]int
	per  map[string]int // open connections of each Other peer
}

// New returns an empty table of max connections split by l. Reservations
// over max leave no shared slot (Other is then never admitted).
func New(max int, l Limits) *Table {
	return &Table{max: max, lim: l, per: make(map[string]int)}
}

// Take admits a connection from p if there is room for its class and
// counts it until Release(p); it reports whether p was admitted. A
// connection is admitted when, after it, the open connections plus the
// reserved slots still unused by the other classes fit in max; an Other
// peer must also be under PerContainer.
func (t *Table) Take(p Peer) bool {
	if p.Class >= numClasses {
		p.Class = Other
	}
	used := 0
	for _, n := range t.open {
		used += n
	}
	held := 0 // reserved slots that p's class may not take
	if p.Class != Host {
		held += max(0, t.lim.Host-t.open[Host])
	}
	if p.Class != Mgmt {
		held += max(0, t.lim.Mgmt-t.open[Mgmt])
	}
	if used+1+held > t.max {
		return false
	}
	if p.Class == Other {
		if t.lim.PerContainer > 0 && t.per[p.Name] >= t.lim.PerContainer {
			return false
		}
		t.per[p.Name]++
	}
	t.open[p.Class]++
	return true
}

// Release frees the slot of a connection that Take(p) admitted.
func (t *Table) Release(p Peer) {
	if p.Class >= numClasses {
		p.Class = Other
	}
	if t.open[p.Class] > 0 {
		t.open[p.Class]--
	}
	if p.Class == Other {
		if t.per[p.Name]--; t.per[p.Name] <= 0 {
			delete(t.per, p.Name)
		}
	}
}

// Open returns the number of open connections of class c.
func (t *Table) Open(c Class) int {
	if c >= numClasses {
		return 0
	}
	return t.open[c]
}
