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
	"github.com/podbay/podbay/podspec"
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
	for _, n := range p.Namespaces {
		fmt.Fprintf(w, "namespace %s\n", n.Name)
	}
	for _, c := range p.ConfigMaps {
		fmt.Fprintf(w, "configmap %s/%s (%s)\n", c.Namespace, c.Name, keys(len(c.Data)+len(c.BinaryData)))
	}
	for _, s := range p.Secrets {
		fmt.Fprintf(w, "secret %s/%s (%s, %s)\n", s.Namespace, s.Name, orOpaque(s.Type), keys(len(s.Data)))
	}
	for _, v := range p.Volumes {
		if typ := v.Labels[play.SubstituteLabel]; typ != "" {
			fmt.Fprintf(w, "volume %s (stands in for %s storage; kept if it exists)\n", v.Name, typ)
			continue
		}
		fmt.Fprintf(w, "volume %s (from PersistentVolumeClaim %s/%s; kept if it exists)\n", v.Name, v.Namespace, v.Name)
	}
	for _, s := range p.Pods {
		printDryRunPod(w, &s)
	}
	for _, svc := range p.Services {
		fmt.Fprintf(w, "service %s/%s (%s) selecting %s\n", svc.Namespace, svc.Name, svc.Type, labelsString(svc.Selector))
	}
	return nil
}

func printDryRunPod(w io.Writer, s *podspec.Pod) {
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
		switch {
		case v.Substitutes != "":
			fmt.Fprintf(w, "  volume %s: %s, played as the named volume %s\n", v.Name, v.Substitutes, v.ClaimName)
		case v.Kind == podspec.VolumePVC:
			fmt.Fprintf(w, "  volume %s: pvc %s\n", v.Name, v.ClaimName)
		default:
			fmt.Fprintf(w, "  volume %s: %s\n", v.Name, v.Kind)
		}
	}
	for i, c := range append(append([]podspec.Container{}, s.InitContainers...), s.Containers...) {
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

func keys(n int) string {
	if n == 1 {
		return "1 key"
	}
	return fmt.Sprintf("%d keys", n)
}

func orOpaque(typ string) string {
	if typ == "" {
		return "Opaque"
	}
	return typ
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
