// Command benchutil is the small measuring helper of hack/bench.sh: peak RSS
// of a command, steady RSS of running processes, and runc bundles cloned
// from a podbay container's config.json. It uses the standard library only.
//
//	benchutil maxrss FILE -- CMD [ARG...]   run CMD, write its peak RSS (KiB) to FILE
//	benchutil rss NAME MATCH                print "COUNT KIB": processes named NAME
//	                                        whose command line contains MATCH
//	benchutil bundle SRC DIR CGROUP         DIR/config.json = SRC with linux.cgroupsPath = CGROUP
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch args := os.Args[2:]; os.Args[1] {
	case "maxrss":
		if len(args) < 3 || args[1] != "--" {
			usage()
		}
		err = maxRSS(args[0], args[2:])
	case "rss":
		if len(args) != 2 {
			usage()
		}
		var n, kib int
		n, kib, err = rss(args[0], args[1])
		if err == nil {
			fmt.Println(n, kib)
		}
	case "bundle":
		if len(args) != 3 {
			usage()
		}
		err = bundle(args[0], args[1], args[2])
	default:
		usage()
	}
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			os.Exit(exit.ExitCode())
		}
		fmt.Fprintln(os.Stderr, "benchutil:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: benchutil maxrss FILE -- CMD [ARG...] | rss NAME MATCH | bundle SRC DIR CGROUP")
	os.Exit(2)
}

// maxRSS runs argv with this process's stdio and records the peak resident
// set size of the child (ru_maxrss, KiB on Linux) in file, even when the
// command fails.
func maxRSS(file string, argv []string) error {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	runErr := cmd.Run()
	if cmd.ProcessState == nil {
		return runErr
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return fmt.Errorf("no rusage for %s", argv[0])
	}
	if err := os.WriteFile(file, []byte(strconv.FormatInt(ru.Maxrss, 10)+"\n"), 0o644); err != nil {
		return err
	}
	return runErr
}

// rss sums VmRSS over the live processes whose executable base name is name
// and whose command line contains match.
func rss(name, match string) (count, kib int, err error) {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return 0, 0, err
	}
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil || len(cmdline) == 0 {
			continue // gone, or a zombie
		}
		argv := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		if filepath.Base(argv[0]) != name || !bytes.Contains(cmdline, []byte(match)) {
			continue
		}
		v, err := vmRSS(filepath.Join("/proc", d.Name(), "status"))
		if err != nil {
			continue
		}
		count++
		kib += v
	}
	return count, kib, nil
}

func vmRSS(status string) (int, error) {
	data, err := os.ReadFile(status)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
		}
	}
	return 0, fmt.Errorf("%s: no VmRSS", status)
}

// bundle writes dir/config.json: the OCI config src with its cgroup path
// replaced, so that every bare runc container gets a cgroup of its own.
// Everything else (root.path, mounts, namespaces) is kept as podbay built it.
func bundle(src, dir, cgroup string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	var spec map[string]any
	if err := json.Unmarshal(data, &spec); err != nil {
		return fmt.Errorf("decoding %s: %w", src, err)
	}
	linux, ok := spec["linux"].(map[string]any)
	if !ok {
		return fmt.Errorf("%s: no linux section", src)
	}
	linux["cgroupsPath"] = cgroup
	out, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "config.json"), out, 0o644)
}
