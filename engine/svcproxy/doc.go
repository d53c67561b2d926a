// Package svcproxy programs, inside a network namespace, the iptables nat rules that send a Service's virtual address and node ports to its ready endpoints.
package svcproxy
