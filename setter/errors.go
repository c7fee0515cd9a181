package setter

import "errors"

// ErrConcurrentChange is returned (wrapped, naming the file) by Run when a file changed on
// disk between being read and being replaced; the file is left as the other writer made it.
var ErrConcurrentChange = errors.New("the file changed while it was being updated")
