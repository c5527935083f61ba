// Arena's addition to FerretDB 1.24 (copied into internal/handler at build time).
//
// The SQLite backend applies update, findAndModify and delete as a read of the
// matching documents, a change computed in Go and a write, with nothing in
// between to stop another connection doing the same: two concurrent $inc of
// one document could both read 1 and both write 2, and two conditional
// updates ({_id, status: "waiting"} -> "taken") could both match. MongoDB
// applies each of these to a document atomically, and Arena's nodes, sharing
// one database, rely on it. So here these commands run one at a time (SQLite
// admits one writer at a time anyway); reads and inserts (atomic on a unique
// index) still run side by side.

package handler

import "sync"

// arenaWrites is held for the whole of each update, findAndModify and delete.
var arenaWrites sync.Mutex
