// Arena's addition to FerretDB 1.24 (copied into internal/backends/sqlite/metadata).

package metadata

import "fmt"

// idTextIndex is the statement that gives a table its index on the _id's text
// (IDTextColumn), which answers ranges of string ids and sorts by them.
func idTextIndex(table string) string {
	return fmt.Sprintf("CREATE INDEX IF NOT EXISTS %q ON %q (%s)", table+"_arena_id_text", table,
		IDTextColumn)
}
