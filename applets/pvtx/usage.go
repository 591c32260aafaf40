package pvtx

import (
	"io"

	"pantavisor/lib/printf"
)

const usageText = `Usage: %s COMMAND [SUB-COMMAND] ARGS...

Build a Pantavisor revision in a transaction: 'begin' it, change it with
'add' and 'remove', and finish it with 'commit' (remote) or 'deploy' (local).

Commands:
  begin [BASE [OBJDIR]]         start a transaction from BASE: "current" (the
                                default: the running revision, from pv-ctrl),
                                "empty", a revision directory or a state JSON.
                                With OBJDIR it is local: objects are saved there
                                and it ends with 'deploy'. Without, it is remote:
                                objects go to pv-ctrl and it ends with 'commit'.
  add FILE|-                    merge a package (tar or tar.gz with a
                                "json" and "objects/<sha256>") or a state JSON;
                                '-' reads a package from stdin
  remove PART                   remove a part: NAME, _sigs/NAME.json or
                                _config/NAME, with what its signature covers
  abort                         discard the transaction
  commit [locals/NAME]          send a remote transaction to pv-ctrl as a new
                                revision and print its name (default
                                locals/pvtx-<time>-<hash>-<rand>); it is not run
  show                          print the state JSON of the transaction
  deploy DIR                    write a local transaction to DIR (.pvr/json,
                                .pvr/config, objects hard-linked from OBJDIR,
                                .pv/ boot links); the old DIR is kept as
                                DIR.bak until the new one is in place
  help | --help | -h            print this help

Queue sub-commands (pvtx queue ...), to batch steps and apply them at once:
  new QUEUE OBJDIR              start a queue in directory QUEUE
  remove PART                   queue the removal of PART
  unpack FILE|-                 queue a package or state JSON (objects go to
                                OBJDIR)
  process [BASE [QUEUE OBJDIR]] apply the queue to the transaction (begun from
                                BASE when given; after 'queue new' when QUEUE
                                and OBJDIR are given)

Environment:
  PVTXDIR                       transaction directory (default: /var/cache/pvtx
                                as root, $PREFIX/var/cache/pvtx with PREFIX set,
                                else ~/.local/share/pvtx)
`

func (a *app) usage(w io.Writer) { printf.Fprintf(w, usageText, a.name) }
