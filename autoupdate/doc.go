// Package autoupdate updates the images of pods that systemd units run, as
// podman auto-update does: a container whose policy is registry follows
// its tag in the registry, one whose policy is local follows its tag in
// the local store; the unit is restarted on the new image, and rolled
// back to the old one when the restart fails.
package autoupdate
