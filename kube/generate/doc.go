// Package generate turns what podbay knows of its pods into Kubernetes objects (pure: no I/O).
package generate
