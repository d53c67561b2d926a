// Package monitor is the per-pod supervisor: it starts a pod's containers through the OCI runtime, owns their stdio, writes CRI logs, restarts them under their policy and records exits.
package monitor
