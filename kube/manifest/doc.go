// Package manifest decodes and encodes multi-document Kubernetes YAML and JSON, strictly and with line:column positions.
package manifest
