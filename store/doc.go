// Package store persists tagflow's cache and state in one bbolt file.
package store
