// Package network attaches pods to CNI networks (bridge, host-local, portmap), keeps each network's masquerade and forwarding iptables rules (PODBAY-POSTROUTING, PODBAY-FORWARD) and owns the pods' network namespaces.
package network
