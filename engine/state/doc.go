// Package state is the embedded store of containers and pods: a bbolt database under --root, one transaction per change.
package state
