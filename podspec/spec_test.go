package podspec

import (
	"encoding/json"
	"reflect"
	"testing"
)

func validSpec() Pod {
	return Pod{
		Name:          "web",
		Network:       NetworkSpec{Mode: NetworkBridge},
		RestartPolicy: "Always",
		Containers:    []Container{{Name: "srv", Image: "nginx", Mounts: []Mount{{Volume: "data", Destination: "/data"}}}},
		Volumes:       []Volume{{Name: "data", Kind: VolumeEmptyDir, EmptyDir: &EmptyDirSource{}}},
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Pod)
		want   string
	}{
		{"valid", func(*Pod) {}, ""},
		{"no name", func(s *Pod) { s.Name = "" }, "pod name is empty"},
		{"no containers", func(s *Pod) { s.Containers = nil }, `pod "web": no containers`},
		{"bad network", func(s *Pod) { s.Network.Mode = "slirp" }, `pod "web": unknown network mode "slirp"`},
		{"bad restart", func(s *Pod) { s.RestartPolicy = "Sometimes" }, `pod "web": unknown restart policy "Sometimes"`},
		{"duplicate container", func(s *Pod) {
			s.InitContainers = []Container{{Name: "srv", Image: "busybox"}}
		}, `pod "web": duplicate container "srv"`},
		{"empty image", func(s *Pod) { s.Containers[0].Image = "" }, `pod "web": container "srv": image is empty`},
		{"mount without volume", func(s *Pod) { s.Volumes = nil }, `pod "web": container "srv": mount "/data": no volume "data"`},
		{"relative mount", func(s *Pod) { s.Containers[0].Mounts[0].Destination = "data" },
			`pod "web": container "srv": mount destination "data" is not absolute`},
		{"duplicate mount", func(s *Pod) {
			s.Containers[0].Mounts = append(s.Containers[0].Mounts, s.Containers[0].Mounts[0])
		}, `pod "web": container "srv": duplicate mount destination "/data"`},
		{"duplicate volume", func(s *Pod) { s.Volumes = append(s.Volumes, s.Volumes[0]) }, `pod "web": duplicate volume "data"`},
		{"unknown volume kind", func(s *Pod) { s.Volumes[0].Kind = "nfs" }, `pod "web": volume "data": unknown kind "nfs"`},
		{"hostPath without path", func(s *Pod) { s.Volumes[0] = Volume{Name: "data", Kind: VolumeHostPath} },
			`pod "web": volume "data": hostPath without a path`},
		{"pvc without claim", func(s *Pod) { s.Volumes[0] = Volume{Name: "data", Kind: VolumePVC} },
			`pod "web": volume "data": pvc without a claim name`},
		{"image without reference", func(s *Pod) { s.Volumes[0] = Volume{Name: "data", Kind: VolumeImage} },
			`pod "web": volume "data": image without a reference`},
		{"two errors", func(s *Pod) { s.Name = ""; s.Containers[0].Image = "" },
			"pod name is empty\npod \"\": container \"srv\": image is empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := validSpec()
			tc.mutate(&s)
			err := s.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("Validate() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestResolveRuntime(t *testing.T) {
	s := validSpec()
	s.RuntimeFields = []string{"status.podIP", "metadata.uid"}
	c := &s.Containers[0]
	c.Env = []EnvVar{{Name: "IP", Value: RuntimeRef("status.podIP")}, {Name: "U", Value: "id-" + RuntimeRef("metadata.uid")}}
	c.Args = []string{"--listen=" + RuntimeRef("status.podIP") + ":80", "$(KEEP)"}
	s.Volumes = append(s.Volumes, Volume{Name: "info", Kind: VolumeDownwardAPI,
		Files: []File{{Path: "uid", Data: []byte(RuntimeRef("metadata.uid"))}}})
	s.ResolveRuntime(map[string]string{"status.podIP": "10.88.0.5", "metadata.uid": "1234"})
	if c.Env[0].Value != "10.88.0.5" || c.Env[1].Value != "id-1234" {
		t.Errorf("env = %+v", c.Env)
	}
	if !reflect.DeepEqual(c.Args, []string{"--listen=10.88.0.5:80", "$(KEEP)"}) {
		t.Errorf("args = %q", c.Args)
	}
	if string(s.Volumes[1].Files[0].Data) != "1234" {
		t.Errorf("file = %q", s.Volumes[1].Files[0].Data)
	}
}

func TestSpecJSONRoundTrip(t *testing.T) {
	s := validSpec()
	uid := int64(1000)
	s.Security = PodSecurity{RunAsUser: &uid, Sysctls: map[string]string{"net.core.somaxconn": "1024"}}
	s.Containers[0].Liveness = &Probe{Handler: Handler{HTTPGet: &HTTPGetAction{Path: "/", Port: 80, Scheme: "HTTP"}}, PeriodSeconds: 10}
	s.Containers[0].Lifecycle.PreStop = &Handler{SleepSeconds: 3}
	s.Job = &JobSpec{Completions: 2, Parallelism: 1, BackoffLimit: 6}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Pod
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s, back) {
		t.Errorf("round trip changed the spec:\n%+v\n%+v", s, back)
	}
	side := Container{RestartPolicy: "Always"}
	if !side.IsSidecar() || s.Containers[0].IsSidecar() {
		t.Error("IsSidecar")
	}
}
