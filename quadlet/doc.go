// Package quadlet translates Quadlet unit files (.kube, .container, .pod,
// .network, .volume) into systemd services that run podbay, as Podman's Quadlet
// generator does for podman: pure functions from unit files in to units out.
package quadlet
