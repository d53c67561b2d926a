// Package testenv provides test fixtures: a real local registry and small images built from busybox-static.
package testenv
