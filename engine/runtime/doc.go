// Package runtime builds OCI runtime specs from composable options and drives an OCI runtime (runc, crun) through its command line.
package runtime
