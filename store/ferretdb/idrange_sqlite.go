// Arena's addition to FerretDB 1.24 (copied into internal/backends/sqlite).

package sqlite

import (
	"strings"

	"github.com/FerretDB/FerretDB/internal/backends/sqlite/metadata"
	"github.com/FerretDB/FerretDB/internal/handler/sjson"
	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/must"
)

// idRangeOps are the SQL comparisons of the operators in a range of string
// ids (types.IDRange); SQLite compares text with the BINARY collation,
// MongoDB's order for strings.
var idRangeOps = map[string]string{"$gt": " >", "$gte": " >=", "$lt": " <", "$lte": " <="}

// arenaIDClause is the WHERE clause, and its arguments, that answers filter
// from an index when it is a range of string ids (the index on the id's
// text), a set of them, or one id among other conditions (the _id index:
// {_id: x, status: "waiting"}, a conditional update's filter); ok is false
// for any other filter. The handler filters what comes back again, as it
// does for every query, so the other conditions still hold.
func arenaIDClause(filter *types.Document) (where string, args []any, ok bool) {
	if filter.Len() > 1 {
		if v, err := filter.Get("_id"); err == nil {
			switch v.(type) {
			case string, types.ObjectID:
				where = ` WHERE ` + metadata.IDColumn + ` = ?`
				return where, []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}, true
			}
		}
	}

	if bounds, isRange := types.IDRange(filter); isRange {
		where = ` WHERE ` + metadata.IDTypeColumn + ` = 'string'`
		for _, b := range bounds {
			where += ` AND ` + metadata.IDTextColumn + idRangeOps[b.Op] + ` ?`
			args = append(args, b.Value)
		}

		return where, args, true
	}

	if ids, isSet := types.IDSet(filter); isSet {
		where = ` WHERE ` + metadata.IDColumn + ` IN (?` + strings.Repeat(`, ?`, len(ids)-1) + `)`
		for _, id := range ids {
			args = append(args, string(must.NotFail(sjson.MarshalSingleValue(id))))
		}

		return where, args, true
	}

	return "", nil, false
}
