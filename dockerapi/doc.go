// Package dockerapi serves the Docker Engine API (podbay system service) as a thin front end over the one model: a create body becomes a podspec.Pod (podspec.FromDocker) run by pod.Manager, and images, networks and volumes are the engine's stores.
package dockerapi
