//go:build !lean

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/podbay/podbay/kube/play"
	"github.com/podbay/podbay/pod"
)

// printDryRun shows everything a play would create, resolved: pods,
// containers with command, environment, mounts, user and capabilities,
// volumes, networks and published ports.
func printDryRun(w io.Writer, p *play.Play, format string) error {
	switch format {
	case "json":
		return writeJSON(w, p)
	case "yaml":
		data, err := json.Marshal(p)
		if err != nil {
			return err
		}
		y, err := yaml.JSONToYAML(data)
		if err != nil {
			return err
		}
		_, err = w.Write(y)
		return err
	case "text", "":
	default:
		return fmt.Errorf("--output %q: want text, yaml or json", format)
	}
	for _, v := range p.Volumes {
		fmt.Fprintf(w, "volume %s (from PersistentVolumeClaim %s/%s)\n", v.Name, v.Namespace, v.Name)
	}
	for _, s := range p.Pods {
		printDryRunPod(w, &s)
	}
	for _, svc := range p.Services {
		fmt.Fprintf(w, "service %s/%s (%s) selecting %s\n", svc.Namespace, svc.Name, svc.Type, labelsString(svc.Selector))
	}
	return nil
}

func printDryRunPod(w io.Writer, s *pod.Spec) {
	net := s.Network.Mode
	if len(s.Network.Networks) > 0 {
		net += " " + strings.Join(s.Network.Networks, ",")
	}
	fmt.Fprintf(w, "pod %s\n  network: %s\n", s.Name, net)
	for _, pm := range s.Network.Ports {
		fmt.Fprintf(w, "  publish: %s:%d -> %d/%s\n", orAll(pm.HostIP), pm.HostPort, pm.ContainerPort, strings.ToLower(pm.Protocol))
	}
	fmt.Fprintf(w, "  restartPolicy: %s, terminationGracePeriodSeconds: %d\n", s.RestartPolicy, s.TerminationGracePeriodSeconds)
	for _, v := range s.Volumes {
		fmt.Fprintf(w, "  volume %s: %s\n", v.Name, v.Kind)
	}
	for i, c := range append(append([]pod.Container{}, s.InitContainers...), s.Containers...) {
		kind := "container"
		if i < len(s.InitContainers) {
			kind = "init container"
		}
		fmt.Fprintf(w, "  %s %s (%s)\n    image: %s (pull %s)\n", kind, c.Name, c.RuntimeName, c.Image, c.PullPolicy)
		if len(c.Command) > 0 {
			fmt.Fprintf(w, "    command: %q\n", c.Command)
		}
		if len(c.Args) > 0 {
			fmt.Fprintf(w, "    args: %q\n", c.Args)
		}
		for _, e := range c.Env {
			fmt.Fprintf(w, "    env %s=%s\n", e.Name, e.Value)
		}
		for _, mt := range c.Mounts {
			fmt.Fprintf(w, "    mount %s at %s (ro=%v)\n", mt.Volume, mt.Destination, mt.ReadOnly)
		}
		sec := c.Security
		if sec.RunAsUser != nil {
			fmt.Fprintf(w, "    user: %d\n", *sec.RunAsUser)
		}
		if len(sec.CapAdd)+len(sec.CapDrop) > 0 {
			fmt.Fprintf(w, "    capabilities: add %v drop %v\n", sec.CapAdd, sec.CapDrop)
		}
	}
}

func orAll(ip string) string {
	if ip == "" {
		return "0.0.0.0"
	}
	return ip
}

func labelsString(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + "=" + m[k]
	}
	return strings.Join(keys, ",")
}
