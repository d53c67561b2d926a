package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/podbay/podbay/engine/image"
	"github.com/podbay/podbay/engine/network"
	"github.com/podbay/podbay/engine/runtime"
	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/engine/volume"
	"github.com/podbay/podbay/internal/report"
	"github.com/podbay/podbay/pod"
	"github.com/podbay/podbay/podspec"
)

// renderRows runs a command's --format over rows, as the command does.
func renderRows(t *testing.T, format string, spec report.Spec, rows any, jsonOf func() any) (string, error) {
	t.Helper()
	f, err := report.Parse(format, spec)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	cmd := &cobra.Command{}
	cmd.SetOut(&buf)
	err = render(cmd, f, rows, jsonOf)
	return buf.String(), err
}

func noJSON() any { panic("json asked for") }

// oldTable writes rows as the commands wrote their tables before --format
// took templates: what the default templates must keep, byte for byte.
func oldTable(header string, rows [][]any) string {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = fmt.Sprint(c)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	tw.Flush()
	return buf.String()
}

const (
	ctrA = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	ctrB = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
	podX = "aaaabbbbccccddddeeeeffff00001111aaaabbbbccccddddeeeeffff00001111"
)

func testContainers() []*state.Container {
	ago := func(d time.Duration) time.Time { return time.Now().Add(-d) }
	view, err := podspec.FromContainerFlags(podspec.ContainerFlags{Name: "web", Image: "busybox", Volumes: []string{"/srv/data:/data:ro"}})
	if err != nil {
		panic(err)
	}
	cfg, _ := json.Marshal(view)
	return []*state.Container{
		{ID: ctrA, Name: "web", Image: "docker.io/library/busybox:latest", ImageID: ctrB, Command: []string{"httpd", "-f", "-p", "8080", "-h", "/www"},
			Created: ago(150 * time.Second), StartedAt: ago(150 * time.Second), State: state.StateRunning, Pid: 4242,
			PodID: podX, PodName: "shop", Labels: map[string]string{"app": "shop"}, Config: cfg},
		{ID: ctrB, Name: "job", Image: "localhost/tool:1", ImageID: ctrA, Command: []string{"false"},
			Created: ago(3 * time.Hour), FinishedAt: ago(3 * time.Hour), State: state.StateExited, ExitCode: 2, RestartCount: 3},
		{ID: ctrA[:20] + ctrB[20:], Name: "new", Image: "localhost/tool:1", Command: []string{"sleep", "1000"}, State: state.StateCreated, Created: ago(time.Minute)},
	}
}

func TestPsDefaultTableUnchanged(t *testing.T) {
	cs := testContainers()
	var rows [][]any
	for _, c := range cs {
		command := strings.Join(c.Command, " ")
		if len(command) > 20 {
			command = command[:17] + "..."
		}
		rows = append(rows, []any{c.ID[:12], c.Image, command, humanDuration(c.Created), statusText(c), "", c.Name})
	}
	want := oldTable("CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES", rows)
	for _, format := range []string{"", "table"} {
		got, err := renderRows(t, format, psSpec, containerItems(cs, nil), noJSON)
		if err != nil || got != want {
			t.Errorf("ps --format %q:\n%s\nwant\n%s(%v)", format, got, want, err)
		}
	}
}

func TestPsFormat(t *testing.T) {
	cs := testContainers()
	pods := map[string]*podspec.Pod{podX: {Network: podspec.NetworkSpec{Mode: podspec.NetworkBridge, Networks: []string{"front"}, Ports: []podspec.PortMapping{
		{HostPort: 8080, ContainerPort: 80, Protocol: "TCP"}, {HostIP: "127.0.0.1", HostPort: 5353, ContainerPort: 53, Protocol: "UDP"}}}}}
	for _, tc := range []struct{ format, want string }{
		{"{{.Names}}", "web\njob\nnew\n"},
		{"{{.ID}} {{.Image}}", "0123456789ab docker.io/library/busybox:latest\nfedcba987654 localhost/tool:1\n0123456789ab localhost/tool:1\n"},
		{"{{.State}} {{.ExitCode}} {{.Exited}} {{.Pid}} {{.Restarts}}", "running 0 false 4242 0\nexited 2 true 0 3\ncreated 0 false 0 0\n"},
		{"{{.Status}}", "Up 2 minutes\nExited (2) 3 hours ago\nCreated\n"},
		{"{{.Command}}", "httpd -f -p 8080 ...\nfalse\nsleep 1000\n"},
		{"{{.Pod}}|{{.PodName}}|{{.Networks}}", "aaaabbbbcccc|shop|front\n||\n||\n"},
		{"{{.Ports}}", "0.0.0.0:8080->80/tcp, 127.0.0.1:5353->53/udp\n\n\n"},
		{"{{.Mounts}}", "/data\n\n\n"},
		{`{{.Label "app"}}|{{.Labels}}`, "shop|map[app:shop]\n|map[]\n|map[]\n"},
		{"{{.CreatedHuman}}|{{.RunningFor}}", "2 minutes ago|2 minutes ago\n3 hours ago|3 hours ago\n1 minute ago|1 minute ago\n"},
		{"{{json .Names}} {{upper .State}}", "\"web\" RUNNING\n\"job\" EXITED\n\"new\" CREATED\n"},
		{"table {{.ID}} {{.Names}} {{.PodName}}", "CONTAINER ID  NAMES  PODNAME\n0123456789ab  web    shop\nfedcba987654  job    \n0123456789ab  new    \n"},
	} {
		got, err := renderRows(t, tc.format, psSpec, containerItems(cs, pods), noJSON)
		if err != nil || got != tc.want {
			t.Errorf("ps --format %q:\n got %q\nwant %q (%v)", tc.format, got, tc.want, err)
		}
	}
}

func TestItemFormatErrors(t *testing.T) {
	for _, tc := range []struct {
		format string
		spec   report.Spec
		want   string
	}{
		{"{{.Nmes}}", psSpec, "--format: template: ps:1:2: can't evaluate field Nmes in type containerItem (it has AutoRemove, Command, Created,"},
		{"table {{.ID}} {{.Nme}}", podPsSpec, "--format: template: pod ps:1:10: can't evaluate field Nme in type podItem"},
		{"{{.Repo}}", imagesSpec, "can't evaluate field Repo in type imageItem"},
		{"{{.Mountpont}}", volumeLsSpec, "can't evaluate field Mountpont in type volumeView"},
		{"{{.Subnt}}", networkLsSpec, "can't evaluate field Subnt in type networkItem (it has Bridge, Created, Default, Driver, Gateway, IPv6Enabled, Internal, Labels, Name, NetworkInterface, Subnet, Subnets)"},
		{"{{.Names", psSpec, "--format: template: ps:2: unclosed action"},
	} {
		// Nothing to list: the error comes all the same.
		_, err := renderRows(t, tc.format, tc.spec, []containerItem{}, noJSON)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s --format %q: error %v, want %q", tc.spec.Name, tc.format, err, tc.want)
		}
	}
}

func testPodStatuses() []*pod.PodStatus {
	cs := testContainers()
	infra := &state.Container{ID: ctrB, Name: "shop-infra", State: state.StateRunning, Infra: true, RestartCount: 1}
	return []*pod.PodStatus{
		{Pod: &state.Pod{ID: podX, Name: "shop", Created: time.Now().Add(-2 * time.Hour), InfraID: ctrB, Labels: map[string]string{"tier": "web"}},
			Status: pod.PodRunning, Infra: infra, Containers: cs[:2], Spec: podspec.Pod{Network: podspec.NetworkSpec{Mode: podspec.NetworkBridge, Networks: []string{"front"}}}},
		{Pod: &state.Pod{ID: ctrA, Name: "empty", Created: time.Now().Add(-time.Minute), InfraID: ctrA},
			Status: pod.PodCreated, Infra: &state.Container{ID: ctrA, Name: "empty-infra", State: state.StateCreated, Infra: true}, Spec: podspec.Pod{Network: podspec.NetworkSpec{Mode: podspec.NetworkHost}}},
	}
}

func TestPodPsTableAndFormat(t *testing.T) {
	t.Setenv("PODBAY_CGROUP_PARENT", "") // the integration run sets one of its own
	sts := testPodStatuses()
	var rows []podItem
	var old [][]any
	for _, st := range sts {
		rows = append(rows, podItem{st: st, ready: "1/2"})
		old = append(old, []any{st.Pod.ID[:12], st.Pod.Name, st.Status, "1/2", humanDuration(st.Pod.Created), st.Pod.InfraID[:12], len(st.Containers) + 1})
	}
	want := oldTable("POD ID\tNAME\tSTATUS\tREADY\tCREATED\tINFRA ID\t# OF CONTAINERS", old)
	if got, err := renderRows(t, "", podPsSpec, rows, noJSON); err != nil || got != want {
		t.Errorf("pod ps:\n%s\nwant\n%s(%v)", got, want, err)
	}
	for _, tc := range []struct{ format, want string }{
		{"{{.Name}}", "shop\nempty\n"},
		{"{{.ID}} {{.Id}} {{.InfraID}}", "aaaabbbbcccc aaaabbbbcccc fedcba987654\n0123456789ab 0123456789ab 0123456789ab\n"},
		{"{{.NumberOfContainers}} {{.Restarts}} {{.Networks}}.", "3 4 front.\n1 0 .\n"},
		{"{{.ContainerNames}}|{{.ContainerStatuses}}", "shop-infra,web,job|running,running,exited\nempty-infra|created\n"},
		{"{{.ContainerIds}}", "fedcba987654,0123456789ab,fedcba987654\n0123456789ab\n"},
		{`{{.Label "tier"}} {{.Cgroup}}`, "web /podbay/pod-aaaabbbbcccc\n /podbay/pod-0123456789ab\n"},
		{"table {{.Name}} {{.ContainerNames}}", "NAME   NAMES\nshop   shop-infra,web,job\nempty  empty-infra\n"},
	} {
		got, err := renderRows(t, tc.format, podPsSpec, rows, noJSON)
		if err != nil || got != tc.want {
			t.Errorf("pod ps --format %q:\n got %q\nwant %q (%v)", tc.format, got, tc.want, err)
		}
	}
}

func TestImagesTableAndFormat(t *testing.T) {
	imgs := []*image.Image{
		{ID: ctrA, Digest: "sha256:" + ctrB, Names: []string{"docker.io/library/busybox:latest", "localhost/mine:v1"}, Created: time.Now().Add(-50 * time.Hour), Size: 2_150_000},
		{ID: ctrB, Created: time.Now().Add(-time.Hour), Size: 999},
	}
	var old [][]any
	for _, img := range imgs {
		names := img.Names
		if len(names) == 0 {
			names = []string{"<none>:<none>"}
		}
		for _, n := range names {
			repo, tag := splitRepoTag(n)
			old = append(old, []any{repo, tag, img.ID[:12], humanDuration(img.Created), humanSize(img.Size)})
		}
	}
	want := oldTable("REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE", old)
	if got, err := renderRows(t, "table", imagesSpec, imageItems(imgs), noJSON); err != nil || got != want {
		t.Errorf("images:\n%s\nwant\n%s(%v)", got, want, err)
	}
	for _, tc := range []struct{ format, want string }{
		{"{{.Repository}}:{{.Tag}}", "docker.io/library/busybox:latest\nlocalhost/mine:v1\n<none>:<none>\n"},
		{"{{.ID}} {{.Size}} {{.VirtualSize}} {{.Dangling}}", "0123456789ab 2.15 MB 2150000 false\n0123456789ab 2.15 MB 2150000 false\nfedcba987654 999 B 999 true\n"},
		{"{{.Digest}}", "sha256:" + ctrB + "\nsha256:" + ctrB + "\n\n"},
		{"{{join .RepoDigests \",\"}}", "docker.io/library/busybox@sha256:" + ctrB + ",localhost/mine@sha256:" + ctrB + "\n" +
			"docker.io/library/busybox@sha256:" + ctrB + ",localhost/mine@sha256:" + ctrB + "\n\n"},
		{"table {{.ID}} {{.Tag}}", "IMAGE ID      TAG\n0123456789ab  latest\n0123456789ab  v1\nfedcba987654  <none>\n"},
	} {
		got, err := renderRows(t, tc.format, imagesSpec, imageItems(imgs), noJSON)
		if err != nil || got != tc.want {
			t.Errorf("images --format %q:\n got %q\nwant %q (%v)", tc.format, got, tc.want, err)
		}
	}
}

func TestVolumeLs(t *testing.T) {
	created := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	views := []volumeView{
		viewVolume(&volume.Volume{Name: "data", Driver: "local", Mountpoint: "/var/lib/podbay/volumes/data/_data", CreatedAt: created, Labels: map[string]string{"a": "b"}}),
		viewVolume(&volume.Volume{Name: "cache-volume-with-a-long-name", Driver: "local", CreatedAt: created}),
	}
	want := oldTable("DRIVER\tVOLUME NAME", [][]any{{"local", "data"}, {"local", "cache-volume-with-a-long-name"}})
	if got, err := renderRows(t, "", volumeLsSpec, views, noJSON); err != nil || got != want {
		t.Errorf("volume ls:\n%s\nwant\n%s(%v)", got, want, err)
	}
	got, err := renderRows(t, "{{.Name}} {{.Scope}} {{.Labels}} {{.CreatedAt.Year}}", volumeLsSpec, views, noJSON)
	if want := "data local map[a:b] 2024\ncache-volume-with-a-long-name local map[] 2024\n"; err != nil || got != want {
		t.Errorf("volume ls --format: %q, want %q (%v)", got, want, err)
	}
	// --format json: Podman's field names, Labels and Options always there.
	got, err = renderRows(t, "json", volumeLsSpec, views, func() any { return views })
	if err != nil {
		t.Fatal(err)
	}
	var parsed []map[string]any
	if err := json.Unmarshal([]byte(got), &parsed); err != nil || len(parsed) != 2 {
		t.Fatalf("volume ls --format json: %v\n%s", err, got)
	}
	var keys []string
	for k := range parsed[1] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"}; !slices.Equal(keys, want) {
		t.Errorf("volume ls --format json keys %v, want %v", keys, want)
	}
	if parsed[1]["Scope"] != "local" || parsed[1]["CreatedAt"] != "2024-05-06T07:08:09Z" {
		t.Errorf("volume ls --format json: %v", parsed[1])
	}
}

func TestNetworkLs(t *testing.T) {
	nets := []*network.Network{
		{Name: "podbay", Driver: "bridge", Bridge: "podbay0", Subnet: "10.90.0.0/16", Gateway: "10.90.0.1"},
		{Name: "inner", Driver: "bridge", Bridge: "pb1", Subnet: "10.91.5.0/24", Gateway: "10.91.5.1", Internal: true},
	}
	var rows []networkItem
	var old [][]any
	for _, n := range nets {
		rows = append(rows, networkItem{n})
		old = append(old, []any{n.Name, n.Driver, n.Subnet, n.Gateway, n.Bridge, n.Internal})
	}
	want := oldTable("NAME\tDRIVER\tSUBNET\tGATEWAY\tBRIDGE\tINTERNAL", old)
	if got, err := renderRows(t, "", networkLsSpec, rows, noJSON); err != nil || got != want {
		t.Errorf("network ls:\n%s\nwant\n%s(%v)", got, want, err)
	}
	got, err := renderRows(t, "{{.Name}}: {{range .Subnets}}{{.Subnet}} via {{.Gateway}}{{end}} on {{.NetworkInterface}}", networkLsSpec, rows, noJSON)
	if want := "podbay: 10.90.0.0/16 via 10.90.0.1 on podbay0\ninner: 10.91.5.0/24 via 10.91.5.1 on pb1\n"; err != nil || got != want {
		t.Errorf("network ls --format: %q, want %q (%v)", got, want, err)
	}
}

// TestContainerMounts: inspect lists a container's volume mounts as its
// bundle has them, and nothing else of the bundle's.
func TestContainerMounts(t *testing.T) {
	c := testContainers()[0]
	c.Bundle = t.TempDir()
	spec, err := runtime.NewSpec(runtime.WithBindMount("/srv/data", "/data", true), runtime.WithTmpfs("/scratch"))
	if err != nil {
		t.Fatal(err)
	}
	if err := runtime.WriteBundle(c.Bundle, spec); err != nil {
		t.Fatal(err)
	}
	got := containerMounts(c)
	want := []inspectMount{{Type: "bind", Source: "/srv/data", Destination: "/data", Options: []string{"rbind", "rprivate", "ro"}, RW: false}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("mounts of -v /srv/data:/data:ro: %+v, want %+v", got, want)
	}
	if got := containerMounts(&state.Container{Config: c.Config, Bundle: t.TempDir()}); len(got) != 0 {
		t.Errorf("mounts without a bundle: %+v, want none", got)
	}
}
