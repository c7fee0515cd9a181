// Package standalone is tagflow's standalone runtime, `tagflow run -f DIR`: the engine over
// a data directory (DATA_DIR/tagflow.db, DATA_DIR/git/), fed from object files and a
// secrets directory laid out like mounted Kubernetes Secrets. It re-reads the files when
// they change, keeps a status snapshot for `tagflow status` while it holds the store, and
// serves the Receivers' webhooks and the metrics and health probes. It is the peer of the
// Kubernetes controller (package controller); both convert their objects with
// internal/convert and run the same automation engine.
package standalone
