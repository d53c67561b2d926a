// Package pod describes pods as plain data (Spec, Status) and runs their lifecycle on top of the engine packages.
package pod
