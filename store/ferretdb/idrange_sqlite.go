// Arena's addition to FerretDB 1.24 (copied into internal/backends/sqlite).

package sqlite

// idRangeOps are the SQL comparisons of the operators in a range of string
// ids (types.IDRange); SQLite compares text with the BINARY collation,
// MongoDB's order for strings.
var idRangeOps = map[string]string{"$gt": " >", "$gte": " >=", "$lt": " <", "$lte": " <="}
