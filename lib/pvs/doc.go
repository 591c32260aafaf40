// Package pvs verifies the pvs@2 signatures of a Pantavisor state under a
// secure-boot mode and a trust store.
//
// A signature is a top-level value {"#spec":"pvs@2","protected":B64URL,
// "signature":B64URL}, normally named _sigs/NAME.json. Its protected header
// (alg, typ "PVS", pvs.include/pvs.exclude globs, optional x5c chain) says
// which keys of the state it covers; the signed payload is the canonical JSON
// (github.com/gibson042/canonicaljson-spec) of the covered pairs, which is
// what pvr signs. Check applies the mode (PV_SECUREBOOT_MODE) and returns a
// Result with one line's worth of facts per signature.
//
// Certificate dates. A device may boot with its clock at the epoch. Unless
// Options.At is set, Check treats the clock as trustworthy only when it is
// later than the binary's build date (buildinfo.Date, else the ClockFloor
// constant); before that it checks the chain as of the latest NotBefore of
// the x5c certificates (so a chain whose certificates were never valid at the
// same time still fails) and Result.ClockUntrusted says so, for the log.
package pvs
