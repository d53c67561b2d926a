package pod

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
)

// NewID returns a random 64-hex-digit identifier, as Podman's.
func NewID() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("reading random bytes: %v", err))
	}
	return hex.EncodeToString(b)
}

var (
	adjectives = []string{"brave", "calm", "eager", "fancy", "gentle", "happy", "jolly", "keen", "lucid", "merry", "nifty", "proud", "quirky", "sharp", "swift", "vivid", "witty", "zen", "agile", "bold", "bright", "clever", "cosmic", "daring", "elated", "fervent", "frosty", "glowing", "hardy", "humble", "jovial", "kind", "lively", "mellow", "modest", "noble", "patient", "placid", "quiet", "radiant", "serene", "steady", "sunny", "tender", "upbeat", "vigilant", "wise", "zesty"}
	nouns      = []string{"albatross", "beaver", "cormorant", "dolphin", "egret", "falcon", "gannet", "heron", "ibis", "jay", "kestrel", "lark", "merlin", "narwhal", "osprey", "puffin", "shearwater", "tern", "avocet", "bittern", "curlew", "dunlin", "eider", "fulmar", "godwit", "hobby", "kittiwake", "linnet", "magpie", "nuthatch", "oriole", "petrel", "quail", "redshank", "skua", "swift", "teal", "wagtail", "wren", "yellowhammer"}
)

// RandomName returns a Podman-style adjective_noun name.
func RandomName() string {
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	return adjectives[int(b[0])%len(adjectives)] + "_" + nouns[int(b[1])%len(nouns)]
}

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// CheckName validates a container or pod name as Podman does.
func CheckName(name string) error {
	if !nameRE.MatchString(name) || len(name) > 253 {
		return fmt.Errorf("name %q: must match [a-zA-Z0-9][a-zA-Z0-9_.-]* and be at most 253 characters", name)
	}
	return nil
}
