// Command mkimage builds podbay's fixture images and pushes them to a
// registry (for the demo and the benchmarks; no internet needed).
//
//	go run ./hack/mkimage -push 127.0.0.1:5000/busybox:latest
//	go run ./hack/mkimage -big -push 127.0.0.1:5000/big:latest
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/podbay/podbay/internal/fixture"
)

func main() {
	push := flag.String("push", "", "reference to push to (plain http)")
	big := flag.Bool("big", false, "build the 3-layer ~120 MB benchmark image instead of busybox")
	flag.Parse()
	if err := run(*push, *big); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

func run(push string, big bool) error {
	if push == "" {
		return fmt.Errorf("-push REF is required")
	}
	var img v1.Image
	var err error
	if big {
		img, err = fixture.Big(3, 120)
	} else {
		img, err = fixture.Busybox()
	}
	if err != nil {
		return err
	}
	ref, err := name.ParseReference(push, name.Insecure)
	if err != nil {
		return err
	}
	return remote.Write(ref, img)
}
