package dockerapi

import (
	"net/http"
	"os"
	goruntime "runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podbay/podbay/engine/state"
)

func (s *Server) ping(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("API-Version", APIVersion)
	h.Set("OSType", "linux")
	h.Set("Docker-Experimental", "false")
	h.Set("Builder-Version", "1")
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("Pragma", "no-cache")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte("OK"))
	}
	return nil
}

func kernelVersion() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

func (s *Server) version(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]any{
		"Platform": map[string]string{"Name": "podbay " + s.Version},
		"Components": []map[string]any{{"Name": "Engine", "Version": s.Version,
			"Details": map[string]string{"ApiVersion": APIVersion, "MinAPIVersion": MinAPIVersion, "Os": "linux",
				"Arch": goruntime.GOARCH, "GoVersion": goruntime.Version(), "KernelVersion": kernelVersion()}}},
		"Version": EngineVersion, "ApiVersion": APIVersion, "MinAPIVersion": MinAPIVersion, "GitCommit": s.Version,
		"GoVersion": goruntime.Version(), "Os": "linux", "Arch": goruntime.GOARCH, "KernelVersion": kernelVersion(),
		"BuildTime": time.Time{}.Format(time.RFC3339),
	})
	return nil
}

func cgroupVersion() string {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		return "2"
	}
	return "1"
}

func memTotal() int64 {
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) != nil {
		return 0
	}
	return int64(si.Totalram) * int64(si.Unit)
}

func osName() string {
	data, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "Linux"
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return "Linux"
}

func (s *Server) info(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	cs, err := s.visible(ctx)
	if err != nil {
		return err
	}
	imgs, err := s.Images.List(ctx)
	if err != nil {
		return err
	}
	running, stopped := 0, 0
	for _, c := range cs {
		if c.State == state.StateRunning {
			running++
		} else {
			stopped++
		}
	}
	host, _ := os.Hostname()
	rt := s.Manager.Runtime.Path()
	writeJSON(w, http.StatusOK, map[string]any{
		"ID": "podbay", "Name": host, "Containers": len(cs), "ContainersRunning": running, "ContainersPaused": 0,
		"ContainersStopped": stopped, "Images": len(imgs), "Driver": "overlay", "DriverStatus": [][2]string{},
		"Plugins":     map[string][]string{"Volume": {"local"}, "Network": {"bridge", "host", "null"}, "Log": {"k8s-file"}},
		"MemoryLimit": true, "SwapLimit": false, "CpuCfsPeriod": true, "CpuCfsQuota": true, "CPUShares": true,
		"KernelVersion": kernelVersion(), "OperatingSystem": osName(), "OSType": "linux", "Architecture": goruntime.GOARCH,
		"NCPU": goruntime.NumCPU(), "MemTotal": memTotal(), "DockerRootDir": s.Manager.Root, "ServerVersion": EngineVersion,
		"Runtimes": map[string]any{"runc": map[string]string{"path": rt}}, "DefaultRuntime": "runc",
		"CgroupDriver": "cgroupfs", "CgroupVersion": cgroupVersion(), "LoggingDriver": "k8s-file",
		"SecurityOptions": []string{"name=seccomp,profile=default"}, "Warnings": []string{},
		"RegistryConfig": map[string]any{"InsecureRegistryCIDRs": []string{"127.0.0.0/8"}, "IndexConfigs": map[string]any{}},
		"Swarm":          map[string]any{"LocalNodeState": "inactive"}, "Labels": []string{}, "ExperimentalBuild": false,
	})
	return nil
}
