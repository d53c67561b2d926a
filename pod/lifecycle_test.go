package pod

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/podspec"
)

// cliSpec is what `run NAME busybox sleep 1000` translates into.
func cliSpec(t *testing.T, name string, flags ...func(*podspec.ContainerFlags)) podspec.Pod {
	t.Helper()
	f := podspec.ContainerFlags{Name: name, Image: "busybox", Args: []string{"sleep", "1000"}}
	for _, fn := range flags {
		fn(&f)
	}
	spec, err := podspec.FromContainerFlags(f)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// leftovers lists what the engine holds: records, directories under the
// roots' per-object directories, mounts and running fakes.
func (f *fakes) leftovers() []string {
	f.t.Helper()
	var out []string
	err := f.m.State.View(context.Background(), func(tx *state.Tx) error {
		cs, err := tx.Containers()
		for _, c := range cs {
			out = append(out, "record "+c.Name)
		}
		ps, _ := tx.Pods()
		for _, p := range ps {
			out = append(out, "pod "+p.Name)
		}
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, dir := range []string{filepath.Join(f.m.Root, "containers"), filepath.Join(f.m.Runroot, "containers"), filepath.Join(f.m.Runroot, "pods")} {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), ".") {
				out = append(out, "dir "+filepath.Join(filepath.Base(dir), e.Name()))
			}
		}
	}
	for _, m := range f.host.mounts() {
		out = append(out, "mount "+m)
	}
	for _, id := range f.mon.running() {
		out = append(out, "running "+id)
	}
	ns, _ := os.ReadDir(filepath.Join(f.m.Runroot, "netns"))
	for _, e := range ns {
		out = append(out, "netns "+e.Name())
	}
	return out
}

func (f *fakes) wantNothingLeft(what string) {
	f.t.Helper()
	if left := f.leftovers(); len(left) > 0 {
		f.t.Errorf("%s left %v", what, left)
	}
}

func TestContainerLifecycle(t *testing.T) {
	f := newFakes(t)
	ctx := context.Background()
	c, err := f.m.Create(ctx, CreateOptions{Spec: cliSpec(t, "box")})
	if err != nil {
		t.Fatal(err)
	}
	if c.State != state.StateCreated || c.Name != "box" || !f.host.mounted[c.Rootfs] {
		t.Fatalf("created %+v (mounted %v)", c, f.host.mounts())
	}
	if _, err := os.Stat(filepath.Join(c.Bundle, "config.json")); err != nil {
		t.Errorf("no bundle: %v", err)
	}
	if c, err = f.m.Start(ctx, "box"); err != nil || c.State != state.StateRunning || !processAlive(c.Pid, c.PidStart) {
		t.Fatalf("start: %+v, %v", c, err)
	}
	started := f.mon.started[0]
	if started.Restart != "Never" || started.GracePeriod != podspec.CLIGracePeriod*1e9 {
		t.Errorf("the monitor was told restart %q, grace %v: want Never and 10s, as podman run", started.Restart, started.GracePeriod)
	}
	if c, err = f.m.Stop(ctx, "box", StopOptions{}); err != nil || c.State != state.StateExited || c.ExitCode != 143 {
		t.Fatalf("stop: %+v, %v", c, err)
	}
	if _, err := f.m.Remove(ctx, "box", RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	f.wantNothingLeft("create, start, stop and remove")
	if len(f.host.cgroups) == 0 || f.host.cgroups[0] != "/podbay/"+c.ID {
		t.Errorf("cgroups removed: %v, want /podbay/%s", f.host.cgroups, c.ID)
	}
}

// TestCreateFailureLeavesNothing fails a create at each of its steps.
func TestCreateFailureLeavesNothing(t *testing.T) {
	nonRoot := func(fl *podspec.ContainerFlags) {}
	for _, tc := range []struct {
		name  string
		spec  func(t *testing.T) podspec.Pod
		setup func(*fakes)
		want  string
	}{
		{"missing image", func(t *testing.T) podspec.Pod {
			s := cliSpec(t, "box", nonRoot)
			s.Containers[0].Image = "nosuch"
			return s
		}, nil, "pulling nosuch"},
		{"root filesystem", func(t *testing.T) podspec.Pod { return cliSpec(t, "box") }, func(f *fakes) { f.host.failMount = true }, "mounting"},
		{"runAsNonRoot of a root image", func(t *testing.T) podspec.Pod {
			s := cliSpec(t, "box")
			s.Containers[0].Security.RunAsNonRoot = new(true)
			return s
		}, nil, "runAsNonRoot and image will run as root"},
		{"missing host path", func(t *testing.T) podspec.Pod {
			return cliSpec(t, "box", func(fl *podspec.ContainerFlags) { fl.Volumes = []string{"/no/such/dir:/data"} })
		}, nil, "hostPath /no/such/dir"},
		{"name in use", func(t *testing.T) podspec.Pod { return cliSpec(t, "taken") }, func(f *fakes) {
			if _, err := f.m.Create(context.Background(), CreateOptions{Spec: cliSpec(f.t, "taken")}); err != nil {
				f.t.Fatal(err)
			}
		}, "in use"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakes(t)
			if tc.setup != nil {
				tc.setup(f)
			}
			before := f.leftovers()
			_, err := f.m.Create(context.Background(), CreateOptions{Spec: tc.spec(t)})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("create: %v, want an error about %q", err, tc.want)
			}
			if after := f.leftovers(); strings.Join(after, "\n") != strings.Join(before, "\n") {
				t.Errorf("a failed create left %v (before: %v)", after, before)
			}
		})
	}
}

// TestStartFailureKeepsTheContainer: a container whose start fails stays
// created, and can be removed.
func TestStartFailureKeepsTheContainer(t *testing.T) {
	f := newFakes(t)
	ctx := context.Background()
	if _, err := f.m.Create(ctx, CreateOptions{Spec: cliSpec(t, "box")}); err != nil {
		t.Fatal(err)
	}
	f.mon.failStart = true
	if _, err := f.m.Start(ctx, "box"); !errors.Is(err, errFake) {
		t.Fatalf("start: %v, want the monitor's failure", err)
	}
	c, err := f.m.Lookup(ctx, "box")
	if err != nil || c.State != state.StateCreated {
		t.Fatalf("after a failed start: %+v, %v", c, err)
	}
	if _, err := f.m.Remove(ctx, "box", RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	f.wantNothingLeft("a failed start and remove")
}

// TestRunFailureLeavesNothing: run creates and starts; when the start
// fails, the container goes.
func TestRunFailureLeavesNothing(t *testing.T) {
	f := newFakes(t)
	f.mon.failStart = true
	if _, err := f.m.Run(context.Background(), CreateOptions{Spec: cliSpec(t, "box")}); !errors.Is(err, errFake) {
		t.Fatalf("run: %v", err)
	}
	f.wantNothingLeft("a failed run")
}

// TestPodLifecycle: a pod made on the command line, a container run into
// it (which joins the pod's spec, for generate, and leaves it when
// removed), its network while it runs, and nothing left after rm.
func TestPodLifecycle(t *testing.T) {
	f := newFakes(t)
	ctx := context.Background()
	spec, err := podspec.FromPodFlags(podspec.PodFlags{Name: "web", Network: "appnet", Publish: []string{"8080:80"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.m.CreatePod(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.m.Run(ctx, CreateOptions{Spec: cliSpec(t, "web-srv", func(fl *podspec.ContainerFlags) {
		fl.Volumes = []string{t.TempDir() + ":/data"}
		fl.Network = ""
	}), Pod: "web"})
	if err != nil {
		t.Fatal(err)
	}
	if c.PodID != p.ID || c.State != state.StateRunning {
		t.Fatalf("run --pod: %+v", c)
	}
	st, err := f.m.PodStatusOf(ctx, "web")
	if err != nil || st.Status != PodRunning {
		t.Fatalf("pod: %+v, %v", st, err)
	}
	if a := f.net.attached[p.ID]; a == nil || a.Network != "appnet" {
		t.Errorf("attachments %v: want the pod on appnet", f.net.attached)
	}
	if len(st.Spec.Containers) != 1 || st.Spec.Containers[0].Name != "srv" || st.Spec.Containers[0].RuntimeName != "web-srv" ||
		len(st.Spec.Volumes) != 1 || st.Spec.Volumes[0].Name != "srv-vol-0" || st.Spec.Containers[0].Mounts[0].Volume != "srv-vol-0" {
		t.Errorf("the pod's spec after run --pod: %+v", st.Spec)
	}
	if v := ViewOf(c); v.Network.Mode != podspec.NetworkBridge || v.NetworkName() != "appnet" {
		t.Errorf("the container's view has the network %+v, want the pod's", v.Network)
	}
	if _, err := f.m.StopPod(ctx, "web", StopOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(f.net.attached) != 0 {
		t.Errorf("a stopped pod is still attached: %v", f.net.attached)
	}
	if _, err := f.m.Remove(ctx, "web-srv", RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if st, _ = f.m.PodStatusOf(ctx, "web"); len(st.Spec.Containers) != 0 || len(st.Spec.Volumes) != 0 {
		t.Errorf("the removed container stayed in the pod's spec: %+v", st.Spec)
	}
	if _, err := f.m.RemovePod(ctx, "web", RemovePodOptions{}); err != nil {
		t.Fatal(err)
	}
	f.wantNothingLeft("a pod's life")
}

// TestInfraFailureReleasesTheNetwork: a pod whose network cannot be set up
// does not start, and keeps neither its namespace nor its infra running.
func TestInfraFailureReleasesTheNetwork(t *testing.T) {
	f := newFakes(t)
	ctx := context.Background()
	spec, _ := podspec.FromPodFlags(podspec.PodFlags{Name: "web"})
	if _, err := f.m.CreatePod(ctx, spec); err != nil {
		t.Fatal(err)
	}
	f.net.failAttach = true
	if _, err := f.m.Run(ctx, CreateOptions{Spec: cliSpec(t, "web-srv", func(fl *podspec.ContainerFlags) { fl.Network = "" }), Pod: "web"}); !errors.Is(err, errFake) {
		t.Fatalf("run into the pod: %v", err)
	}
	st, err := f.m.PodStatusOf(ctx, "web")
	if err != nil || st.Infra.State == state.StateRunning || len(st.Containers) != 0 {
		t.Fatalf("after the failure: %+v, %v", st, err)
	}
	if f.host.IsNetNS(f.m.netnsPath(st.Pod.ID)) || len(f.mon.running()) != 0 {
		t.Errorf("after the failure: the namespace is there (%v), running %v", f.host.IsNetNS(f.m.netnsPath(st.Pod.ID)), f.mon.running())
	}
	if _, err := f.m.RemovePod(ctx, "web", RemovePodOptions{}); err != nil {
		t.Fatal(err)
	}
	f.wantNothingLeft("a pod whose network failed")
}

// TestPlayPodFailureRemovesThePod: a played pod one of whose containers
// cannot be created is removed whole.
func TestPlayPodFailureRemovesThePod(t *testing.T) {
	for _, start := range []bool{true, false} {
		f := newFakes(t)
		spec := podspec.Pod{Name: "app", RestartPolicy: "Always", Network: podspec.NetworkSpec{Mode: podspec.NetworkBridge},
			Volumes: []podspec.Volume{{Name: "cache", Kind: podspec.VolumeEmptyDir, EmptyDir: &podspec.EmptyDirSource{Medium: "Memory"}}},
			Containers: []podspec.Container{
				{Name: "a", RuntimeName: "app-a", Image: "busybox", Mounts: []podspec.Mount{{Volume: "cache", Destination: "/cache"}}},
				{Name: "b", RuntimeName: "app-b", Image: "nosuch"},
			}}
		_, err := f.m.PlayPod(context.Background(), spec, PlayOptions{Start: start})
		if err == nil || !strings.Contains(err.Error(), "container b") {
			t.Fatalf("play (start %v): %v, want container b's failure", start, err)
		}
		f.wantNothingLeft("a failed play")
	}
}

// TestPlayedPodRunsAndGoes: a played pod's containers get the kubelet's
// part from the pod's spec, and a down takes all of it.
func TestPlayedPodRunsAndGoes(t *testing.T) {
	f := newFakes(t)
	ctx := context.Background()
	spec := podspec.Pod{Name: "app", RestartPolicy: "OnFailure", TerminationGracePeriodSeconds: 5,
		Network:        podspec.NetworkSpec{Mode: podspec.NetworkBridge},
		InitContainers: []podspec.Container{{Name: "side", RuntimeName: "app-side", Image: "busybox", RestartPolicy: "Always"}},
		Containers:     []podspec.Container{{Name: "main", RuntimeName: "app-main", Image: "busybox", StopSignal: "SIGQUIT"}}}
	played, err := f.m.PlayPod(ctx, spec, PlayOptions{Start: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(played.Containers) != 2 || len(f.mon.started) != 3 { // infra, side, main
		t.Fatalf("played %d containers, %d started", len(played.Containers), len(f.mon.started))
	}
	byID := map[string]string{}
	for _, c := range played.Containers {
		byID[c.ID] = c.Name
	}
	for _, mc := range f.mon.started {
		switch byID[mc.ID] {
		case "app-side":
			if mc.Restart != "Always" || !mc.Sidecar {
				t.Errorf("sidecar: restart %q, sidecar %v", mc.Restart, mc.Sidecar)
			}
		case "app-main":
			if mc.Restart != "OnFailure" || mc.GracePeriod != 5e9 || mc.StopSignal != 3 || mc.NetNS == "" {
				t.Errorf("main: restart %q, grace %v, stop signal %d, netns %q", mc.Restart, mc.GracePeriod, mc.StopSignal, mc.NetNS)
			}
		}
	}
	if err := f.m.DownPod(ctx, "app", 0); err != nil {
		t.Fatal(err)
	}
	f.wantNothingLeft("a played pod's down")
}
