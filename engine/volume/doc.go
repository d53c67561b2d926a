// Package volume manages named volumes, emptyDir directories and configMap/secret projections.
package volume
