// Package flock takes flock(2) locks on files, the one way podbay processes
// exclude each other: blocking, non-blocking, or polled until a context ends.
package flock
