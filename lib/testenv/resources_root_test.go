package testenv_test

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netns"

	"pantavisor/lib/rtnl"
	"pantavisor/lib/testenv"
)

// TestLeakCheckNetwork: the leak check sees a network namespace handle
// held open and the links of the namespaces it is given, and
// WaitResources waits out the asynchronous deletion of a veth pair whose
// other namespace was freed.
func TestLeakCheckNetwork(t *testing.T) {
	dir := t.TempDir()
	host := testenv.NewNetns(t)
	before := testenv.TakeResources(t, dir, "none", host)
	assert.Equal(t, []string{"lo"}, before.Links)

	peer := ownNetns(t)
	c, err := rtnl.DialNetns(rtnl.Netns(host))
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.AddVeth("pvleak0", "eth0", int(peer)))
	held := testenv.TakeResources(t, dir, "none", host)
	assert.Len(t, held.Netns, len(before.Netns)+1, "the handle to peer")
	assert.Equal(t, []string{"lo", "pvleak0"}, held.Links)
	both := testenv.TakeResources(t, dir, "none", host, peer)
	assert.Equal(t, []string{"0/lo", "0/pvleak0", "1/eth0", "1/lo"}, both.Links, "several namespaces: by position")

	require.NoError(t, peer.Close())
	assert.Equal(t, before, testenv.WaitResources(t, before, dir, "none", host), "the pair goes with peer's namespace")
}

// ownNetns is testenv.NewNetns without the cleanup: the test closes it.
func ownNetns(t *testing.T) netns.NsHandle {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	require.NoError(t, err)
	defer orig.Close()
	h, err := netns.New()
	require.NoError(t, err)
	if err := netns.Set(orig); err != nil {
		runtime.LockOSThread() // stays locked: Go retires the thread
		t.Fatal(err)
	}
	return h
}
