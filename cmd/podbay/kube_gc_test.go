package main

import (
	"os"
	"slices"
	"testing"
)

func TestHandoverEnv(t *testing.T) {
	got := handoverEnv([]string{"PATH=/bin"})
	if want := []string{"PATH=/bin", "GOGC=" + kubeGOGC, kubeGCEnv + "=1"}; !slices.Equal(got, want) {
		t.Errorf("handoverEnv = %v, want %v", got, want)
	}
	user := []string{"GOGC=50", "PATH=/bin"}
	if got := handoverEnv(user); !slices.Equal(got, user) {
		t.Errorf("a user's GOGC was changed: %v", got)
	}
}

func TestDropHandoverGOGC(t *testing.T) {
	t.Setenv("GOGC", kubeGOGC)
	t.Setenv(kubeGCEnv, "1")
	dropHandoverGOGC()
	for _, k := range []string{"GOGC", kubeGCEnv} {
		if v, ok := os.LookupEnv(k); ok {
			t.Errorf("%s=%s still set", k, v)
		}
	}
	t.Setenv("GOGC", "50") // the user's own: no marker
	dropHandoverGOGC()
	if v, _ := os.LookupEnv("GOGC"); v != "50" {
		t.Errorf("the user's GOGC was dropped: %q", v)
	}
}
