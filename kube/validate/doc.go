// Package validate checks Kubernetes objects offline the way the API server, Pod Security admission and OpenShift's SCC admission would, and reports portability problems.
package validate
