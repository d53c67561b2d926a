package network

import (
	"strings"
	"testing"
)

// TestValidName: the network name rule (as the regexp
// ^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$ said it).
func TestValidName(t *testing.T) {
	long := strings.Repeat("a", 63)
	for name, want := range map[string]bool{
		"podbay": true, "a": true, "A.b_c-9": true, "0net": true, long: true,
		"": false, long + "a": false, "-net": false, ".net": false, "_net": false,
		"ne t": false, "net/x": false, "né": false, "..": false,
	} {
		if got := validName(name); got != want {
			t.Errorf("validName(%q) = %v, want %v", name, got, want)
		}
	}
}
