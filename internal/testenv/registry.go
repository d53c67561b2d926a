package testenv

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// RegistryBinary is Debian's distribution registry.
const RegistryBinary = "/usr/bin/docker-registry"

// StartRegistry runs docker-registry on 127.0.0.1 on a free port with storage in t.TempDir,
// waits until /v2/ answers and stops it on cleanup; it returns "127.0.0.1:PORT".
func StartRegistry(t testing.TB) string {
	t.Helper()
	return StartRegistryIn(t, t.TempDir())
}

// StartRegistryIn is StartRegistry with its files in dir: the blobs are
// under BlobData(dir, digest).
func StartRegistryIn(t testing.TB, dir string) string {
	t.Helper()
	if _, err := os.Stat(RegistryBinary); err != nil {
		t.Fatalf("registry binary missing (apt-get install docker-registry): %v", err)
	}
	addr := freeAddr(t)
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, filepath.Join(dir, "data"), addr)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(RegistryBinary, "serve", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting registry: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logf.Close() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "registry.log"))
			t.Fatalf("registry exited: %v\n%s", err, log)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("registry on %s not answering /v2/ after 15s: %v", addr, err)
		}
	}
}

func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// PushImage pushes img to registryAddr/repo (":latest" unless repo has a tag) over plain http
// and returns the reference.
func PushImage(t testing.TB, registryAddr, repo string, img v1.Image) string {
	t.Helper()
	ref, err := name.ParseReference(registryAddr+"/"+repo, name.Insecure)
	if err != nil {
		t.Fatalf("reference %s/%s: %v", registryAddr, repo, err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	return ref.Name()
}

// PushIndex pushes a manifest list to registryAddr/repo and returns the reference.
func PushIndex(t testing.TB, registryAddr, repo string, idx v1.ImageIndex) string {
	t.Helper()
	ref, err := name.ParseReference(registryAddr+"/"+repo, name.Insecure)
	if err != nil {
		t.Fatalf("reference %s/%s: %v", registryAddr, repo, err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	return ref.Name()
}

// BlobData is where the registry of StartRegistryIn(dir) keeps the content
// of blob digest ("sha256:HEX"); it serves that file as it is.
func BlobData(dir, digest string) string {
	hex := strings.TrimPrefix(digest, "sha256:")
	return filepath.Join(dir, "data", "docker", "registry", "v2", "blobs", "sha256", hex[:2], hex, "data")
}
