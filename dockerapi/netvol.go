package dockerapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/podbay/podbay/engine/network"
	"github.com/podbay/podbay/engine/volume"
	"github.com/podbay/podbay/pod"
	"github.com/podbay/podbay/podspec"
)

// networkID is a network's Docker ID: podbay's networks have names only,
// so it is derived from the name.
func networkID(name string) string {
	sum := sha256.Sum256([]byte("podbay network " + name))
	return hex.EncodeToString(sum[:])
}

// dockerNetworkName is a network as Docker clients name it: the default
// network is Docker's "bridge".
func dockerNetworkName(n *network.Network) string {
	if n.Default {
		return "bridge"
	}
	return n.Name
}

// findNetwork finds a network by Docker name ("bridge" or "default" is
// the default network), podbay name, ID or ID prefix.
func (s *Server) findNetwork(ctx context.Context, ref string) (*network.Network, error) {
	if ref == "bridge" || ref == "default" {
		ref = s.DefaultNetwork
	}
	if n, err := s.Networks.Get(ctx, ref); err == nil {
		return n, nil
	}
	nets, err := s.Networks.List(ctx)
	if err != nil {
		return nil, err
	}
	for _, n := range nets {
		if len(ref) >= 3 && strings.HasPrefix(networkID(n.Name), ref) {
			return n, nil
		}
	}
	return nil, notFound("network %s not found", ref)
}

func (s *Server) routeNetworks(w http.ResponseWriter, r *http.Request, rest string) error {
	ctx := r.Context()
	switch {
	case rest == "" && r.Method == http.MethodGet:
		return s.listNetworks(w, r)
	case rest == "create" && r.Method == http.MethodPost:
		return s.createNetwork(w, r)
	case rest == "prune" && r.Method == http.MethodPost:
		return s.pruneNetworks(w, r)
	}
	ref, action, _ := strings.Cut(rest, "/")
	n, err := s.findNetwork(ctx, ref)
	if err != nil {
		return err
	}
	switch r.Method + " " + action {
	case "GET ":
		row, err := s.networkJSON(ctx, n, true)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, row)
		return nil
	case "DELETE ":
		if n.Default {
			return withCode(http.StatusForbidden, "bridge is a pre-defined network and cannot be removed")
		}
		if err := s.Networks.Remove(ctx, n.Name, network.RemoveOptions{}); err != nil {
			return err
		}
		s.emitNetwork(ctx, "destroy", n)
		w.WriteHeader(http.StatusNoContent)
		return nil
	case "POST connect":
		return s.connect(w, r, n)
	case "POST disconnect":
		return s.disconnect(w, r, n)
	}
	return notFound("page not found: %s /networks/%s", r.Method, rest)
}

// networkJSON is a network as Docker shows it; with containers, the
// containers attached to it (those of its pods).
func (s *Server) networkJSON(ctx context.Context, n *network.Network, containers bool) (map[string]any, error) {
	ctrs := map[string]any{}
	if containers {
		atts, err := s.Networks.Attachments(ctx, n.Name)
		if err != nil {
			return nil, err
		}
		for _, a := range atts {
			st, err := s.Manager.PodStatusOf(ctx, a.ContainerID)
			if err != nil {
				continue // a pod of another root
			}
			for _, c := range st.Containers {
				ctrs[c.ID] = map[string]string{"Name": c.Name, "EndpointID": a.ContainerID, "MacAddress": a.MAC,
					"IPv4Address": a.Prefix, "IPv6Address": ""}
			}
		}
	}
	return map[string]any{
		"Name": dockerNetworkName(n), "Id": networkID(n.Name), "Created": dockerTime(n.Created), "Scope": "local",
		"Driver": "bridge", "EnableIPv6": false, "Internal": n.Internal, "Attachable": true, "Ingress": false,
		"IPAM": map[string]any{"Driver": "default", "Options": map[string]string{},
			"Config": []map[string]string{{"Subnet": n.Subnet, "Gateway": n.Gateway}}},
		"ConfigFrom": map[string]string{"Network": ""}, "ConfigOnly": false, "Containers": ctrs,
		"Options": map[string]string{"com.docker.network.bridge.name": n.Bridge}, "Labels": map[string]string{},
	}, nil
}

// builtinNetworks are Docker's host and none, which always exist.
func builtinNetworks() []map[string]any {
	var out []map[string]any
	for _, name := range []string{"host", "none"} {
		out = append(out, map[string]any{"Name": name, "Id": networkID(name), "Scope": "local", "Driver": map[string]string{"host": "host", "none": "null"}[name],
			"IPAM": map[string]any{"Driver": "default", "Config": []any{}}, "Containers": map[string]any{},
			"Options": map[string]string{}, "Labels": map[string]string{}, "Created": dockerTime(time.Time{})})
	}
	return out
}

func (s *Server) listNetworks(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	f, err := parseFilters(r)
	if err != nil {
		return err
	}
	if _, err := s.Networks.Get(ctx, s.DefaultNetwork); err != nil { // made on first use
		return err
	}
	nets, err := s.Networks.List(ctx)
	if err != nil {
		return err
	}
	rows := []map[string]any{}
	for _, n := range nets {
		row, err := s.networkJSON(ctx, n, false)
		if err != nil {
			return err
		}
		rows = append(rows, row)
	}
	rows = append(rows, builtinNetworks()...)
	out := rows[:0]
	for _, row := range rows {
		name, id := row["Name"].(string), row["Id"].(string)
		if f.anyOf("name", func(v string) bool { return strings.Contains(name, v) }) &&
			f.anyOf("id", func(v string) bool { return strings.HasPrefix(id, v) }) && len(f["label"]) == 0 {
			out = append(out, row)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// networkCreate is the body of POST /networks/create.
type networkCreate struct {
	Name     string
	Driver   string
	Internal bool
	IPAM     struct {
		Config []struct{ Subnet, Gateway string }
	}
	Labels map[string]string
}

func (s *Server) createNetwork(w http.ResponseWriter, r *http.Request) error {
	var body networkCreate
	if err := readJSON(r, &body); err != nil {
		return err
	}
	switch body.Driver {
	case "", "bridge":
	default:
		return badRequest("network %s: driver %q: podbay makes bridge networks", body.Name, body.Driver)
	}
	if slices.Contains([]string{"bridge", "host", "none", "default"}, body.Name) {
		return conflict("network with name %s already exists", body.Name)
	}
	o := network.CreateOptions{Name: body.Name, Internal: body.Internal}
	if len(body.IPAM.Config) > 0 {
		o.Subnet, o.Gateway = body.IPAM.Config[0].Subnet, body.IPAM.Config[0].Gateway
	}
	n, err := s.Networks.Create(r.Context(), o)
	if errors.Is(err, network.ErrExists) {
		return conflict("network with name %s already exists", body.Name)
	}
	if err != nil {
		return badRequest("%v", err)
	}
	s.emitNetwork(r.Context(), "create", n)
	writeJSON(w, http.StatusCreated, map[string]string{"Id": networkID(n.Name), "Warning": ""})
	return nil
}

// connect serves POST /networks/{id}/connect. A podbay container is on
// one network, its pod's, chosen when it is made: connecting it to that
// network again succeeds (Compose does it at every start), another is
// refused.
func (s *Server) connect(w http.ResponseWriter, r *http.Request, n *network.Network) error {
	var body struct{ Container string }
	if err := readJSON(r, &body); err != nil {
		return err
	}
	c, err := s.lookup(r.Context(), body.Container)
	if err != nil {
		return err
	}
	v := pod.ViewOf(c)
	if v.Network.Mode != podspec.NetworkBridge || (v.NetworkName() != n.Name && !(n.Default && v.NetworkName() == "")) {
		return withCode(http.StatusNotImplemented, "container %s: a podbay container joins the one network it was created on (%s); connecting it to %s is not supported",
			c.Name, networkMode(&v), dockerNetworkName(n))
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) disconnect(w http.ResponseWriter, r *http.Request, n *network.Network) error {
	var body struct {
		Container string
		Force     bool
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	c, err := s.lookup(r.Context(), body.Container)
	if err != nil {
		return err
	}
	v := pod.ViewOf(c)
	if v.NetworkName() == n.Name || n.Default && v.NetworkName() == "" {
		return withCode(http.StatusNotImplemented, "container %s: disconnecting a podbay container from its network is not supported", c.Name)
	}
	return notFound("container %s is not connected to network %s", c.Name, dockerNetworkName(n))
}

func (s *Server) pruneNetworks(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	nets, err := s.Networks.List(ctx)
	if err != nil {
		return err
	}
	deleted := []string{}
	for _, n := range nets {
		if n.Default {
			continue
		}
		if atts, err := s.Networks.Attachments(ctx, n.Name); err != nil || len(atts) > 0 {
			continue
		}
		if err := s.Networks.Remove(ctx, n.Name, network.RemoveOptions{}); err == nil {
			deleted = append(deleted, n.Name)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"NetworksDeleted": deleted})
	return nil
}

func volumeJSON(v *volume.Volume) map[string]any {
	return map[string]any{"Name": v.Name, "Driver": "local", "Mountpoint": v.Mountpoint, "CreatedAt": dockerTime(v.CreatedAt),
		"Labels": nonNilMap(v.Labels), "Scope": "local", "Options": nonNilMap(v.Options)}
}

func (s *Server) routeVolumes(w http.ResponseWriter, r *http.Request, rest string) error {
	ctx := r.Context()
	switch {
	case rest == "" && r.Method == http.MethodGet:
		f, err := parseFilters(r)
		if err != nil {
			return err
		}
		vols, err := s.Volumes.List(ctx)
		if err != nil {
			return err
		}
		rows := []map[string]any{}
		for _, v := range vols {
			if f.labelsMatch(v.Labels) && f.anyOf("name", func(n string) bool { return strings.Contains(v.Name, n) }) {
				rows = append(rows, volumeJSON(v))
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"Volumes": rows, "Warnings": []string{}})
		return nil
	case rest == "create" && r.Method == http.MethodPost:
		var body struct {
			Name       string
			Driver     string
			DriverOpts map[string]string
			Labels     map[string]string
		}
		if err := readJSON(r, &body); err != nil {
			return err
		}
		if body.Driver != "" && body.Driver != "local" {
			return badRequest("volume %s: driver %q: podbay has local volumes", body.Name, body.Driver)
		}
		if body.Name == "" {
			b := make([]byte, 32)
			_, _ = rand.Read(b)
			body.Name = hex.EncodeToString(b)
		}
		v, err := s.Volumes.Create(ctx, volume.CreateOptions{Name: body.Name, Labels: body.Labels, Options: body.DriverOpts, IfExists: true})
		if err != nil {
			return badRequest("%v", err)
		}
		s.emitVolume(ctx, "create", v.Name)
		writeJSON(w, http.StatusCreated, volumeJSON(v))
		return nil
	case rest == "prune" && r.Method == http.MethodPost:
		return s.pruneVolumes(w, r)
	}
	v, err := s.Volumes.Get(ctx, rest)
	if err != nil {
		return err
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, volumeJSON(v))
		return nil
	case http.MethodDelete:
		if users := s.volumeUsers(ctx, v.Name); len(users) > 0 {
			return conflict("remove %s: volume is in use - [%s]", v.Name, strings.Join(users, ", "))
		}
		if err := s.Volumes.Remove(ctx, v.Name); err != nil {
			return err
		}
		s.emitVolume(ctx, "destroy", v.Name)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return methodNotAllowed(r)
}

// volumeUsers are the IDs of the containers that mount volume name.
func (s *Server) volumeUsers(ctx context.Context, name string) []string {
	cs, err := s.Manager.List(ctx)
	if err != nil {
		return nil
	}
	var out []string
	for _, c := range cs {
		v := pod.ViewOf(c)
		if slices.ContainsFunc(v.Volumes, func(vol podspec.Volume) bool { return vol.Kind == podspec.VolumePVC && vol.ClaimName == name }) {
			out = append(out, c.ID)
		}
	}
	return out
}

func (s *Server) pruneVolumes(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	f, err := parseFilters(r)
	if err != nil {
		return err
	}
	vols, err := s.Volumes.List(ctx)
	if err != nil {
		return err
	}
	deleted := []string{}
	for _, v := range vols {
		if !f.labelsMatch(v.Labels) || len(s.volumeUsers(ctx, v.Name)) > 0 {
			continue
		}
		if err := s.Volumes.Remove(ctx, v.Name); err == nil {
			deleted = append(deleted, v.Name)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"VolumesDeleted": deleted, "SpaceReclaimed": 0})
	return nil
}
