// Package network attaches pods to CNI networks (bridge, host-local, portmap, firewall) and owns their network namespaces.
package network
