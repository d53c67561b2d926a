// Package orchestrate runs whole plays of Kubernetes YAML: everything one
// kube play makes (named volumes, Services, pods, recorded objects, Job
// controllers), created all or nothing through one record of what was made
// and one undo, and taken down again by kube down.
package orchestrate
