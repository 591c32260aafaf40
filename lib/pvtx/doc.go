// Package pvtx builds state transactions as upstream Pantavisor's pvtx
// does: a state JSON edited in a directory (PVTXDIR) by merging packages
// and removing parts under the signature rules, then committed to pv-ctrl
// (remote) or deployed as a revision checkout (local), and the queue that
// batches such steps.
//
// The transaction directory holds current.json (the state) and .status,
// upstream's binary struct (see Status), so pvtx builds of both kinds can
// share it. pv-ctrl is reached only through the Ctrl interface.
package pvtx
