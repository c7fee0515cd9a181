package store

import (
	"io"

	bolt "go.etcd.io/bbolt"
)

// CopyTo writes a consistent copy of the database file to w, as of one read transaction:
// writers carry on while it is written. The copy opens with Open like the original. When
// size is not nil it is called with the copy's size before the first byte is written (for a
// Content-Length, so that a reader sees a cut copy as cut).
func (db *DB) CopyTo(w io.Writer, size func(int64)) (int64, error) {
	var n int64
	err := db.view(func(tx *bolt.Tx) error {
		if size != nil {
			size(tx.Size())
		}
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}
