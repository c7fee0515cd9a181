package store

import "errors"

// These errors can be returned by Open.
var (
	// ErrLocked is returned by Open when another process (or another Open in this process)
	// holds the database file and does not release it within Options.Timeout. It is wrapped
	// with the path: "database is locked by another tagflow process (PATH)".
	ErrLocked = errors.New("database is locked by another tagflow process")

	// ErrSchemaVersion is returned by Open when the file was written by a newer tagflow with
	// a schema this build does not know. The file is left untouched; upgrade tagflow or point
	// it at another path.
	ErrSchemaVersion = errors.New("unsupported store schema version")
)

// These errors can be returned by the reading and writing methods of DB.
var (
	// ErrNotFound is returned when the image has never been scanned successfully (Tags,
	// FirstSeen) or never been scanned at all (ScanInfo).
	ErrNotFound = errors.New("not found")

	// ErrCorrupt is returned when a stored value does not decode. The error names the image.
	// Open checks every value and replaces a corrupt file, so this is seen only when the file
	// is damaged while it is open.
	ErrCorrupt = errors.New("corrupt store record")

	// ErrInvalid is returned when an argument cannot be stored: an empty or over-long image
	// name or tag, a name with control characters, or a time outside the years 1678–2262.
	ErrInvalid = errors.New("invalid argument")

	// ErrClosed is returned when a method is called after Close.
	ErrClosed = errors.New("store is closed")
)
