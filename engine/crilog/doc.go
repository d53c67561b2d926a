// Package crilog writes and reads container logs in the CRI format: one "<RFC3339Nano> stdout|stderr F|P <text>" entry per line.
package crilog
