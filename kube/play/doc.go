// Package play translates decoded Kubernetes objects into the pods, volumes and services a play creates, without side effects.
package play
