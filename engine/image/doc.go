// Package image pulls, loads, saves and imports OCI images, keeps a layer store of unpacked layers, and mounts container root filesystems as overlayfs.
package image
