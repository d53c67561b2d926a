package orchestrate

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/podbay/podbay/kube/play"
	"github.com/podbay/podbay/pod"
	"github.com/podbay/podbay/podspec"
)

// testPlay is a play of every kind of thing a play makes: two pods, a
// StatefulSet pod, a Job's pod, a Service, a new claim and one that
// exists, a ConfigMap whose record an earlier play left, a Secret.
func testPlay() *play.Play {
	return &play.Play{
		Pods: []podspec.Pod{
			{Name: "web", Containers: []podspec.Container{{Name: "c", Image: "busybox"}}},
			{Name: "api", Containers: []podspec.Container{{Name: "c", Image: "busybox"}}},
			{Name: "db-0", Owner: &podspec.Owner{Kind: "StatefulSet", Name: "db"}, Containers: []podspec.Container{{Name: "c", Image: "postgres"}}},
			{Name: "migrate-pod-0", Owner: &podspec.Owner{Kind: "Job", Name: "migrate"}, Job: &podspec.JobSpec{Completions: 1, Parallelism: 1},
				Containers: []podspec.Container{{Name: "c", Image: "busybox"}}},
		},
		Services:   []play.Service{{Name: "web", Namespace: "default", Type: "ClusterIP"}},
		Volumes:    []play.NamedVolume{{Name: "data-db-0", Namespace: "default"}, {Name: "kept", Namespace: "default"}},
		ConfigMaps: []play.ConfigMap{{Name: "settings", Namespace: "default", Data: map[string]string{"a": "new"}}},
		Secrets:    []play.Secret{{Name: "token", Namespace: "default", Data: map[string][]byte{"t": []byte("x")}}},
	}
}

// existing is what was there before the play: a volume and a Service of
// other plays, and an earlier play's record of the ConfigMap.
func existing() *world {
	w := newWorld()
	w.volumes["kept"] = true
	w.services["default/other"] = pod.Service{Name: "other", Namespace: "default"}
	w.objects[KindConfigMap] = map[string][]byte{"default/settings": []byte(`{"name":"settings","data":{"a":"old"}}`)}
	return w
}

var startOpts = PlayOptions{Pod: pod.PlayOptions{Start: true}}

func TestPlayMakesEverything(t *testing.T) {
	w := existing()
	res, err := w.engine().Play(context.Background(), testPlay(), startOpts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Pods) != 4 || len(w.pods) != 4 {
		t.Errorf("%d pods reported, %d made; want 4", len(res.Pods), len(w.pods))
	}
	if !w.volumes["data-db-0"] || !w.volumes["kept"] {
		t.Errorf("volumes %v: want data-db-0 made and kept kept", w.volumes)
	}
	if _, ok := w.services["default/web"]; !ok {
		t.Errorf("the Service was not registered: %v", w.services)
	}
	if got := string(w.objects[KindConfigMap]["default/settings"]); !strings.Contains(got, "new") {
		t.Errorf("ConfigMap record = %s, want the play's", got)
	}
	if w.jobs["migrate"] == nil || !w.started["migrate"] {
		t.Errorf("the Job's controller was not started: jobs %v, started %v", w.jobs, w.started)
	}
}

// TestFailedPlayLeavesNothing fails each step of a play in turn: every
// step before it is undone, and what was there before stays as it was.
func TestFailedPlayLeavesNothing(t *testing.T) {
	for _, step := range []string{"services", "pull", "volume", "pod", "sync",
		"objects-" + KindConfigMap, "objects-" + KindSecret, "objects-" + KindClaim, "job-save", "job-start"} {
		t.Run(step, func(t *testing.T) {
			w := existing()
			before := w.snapshot()
			w.failStep = step
			_, err := w.engine().Play(context.Background(), testPlay(), startOpts)
			if !errors.Is(err, errInjected) {
				t.Fatalf("play: %v, want the injected failure", err)
			}
			w.failStep = "" // the undo itself must not fail
			if after := w.snapshot(); after != before {
				t.Errorf("after the failed play:\n%s\nwant as before:\n%s", after, before)
			}
		})
	}
}

// TestFailedStatefulSetPodStopsItsSuccessors: a StatefulSet's pods start
// in order; when one fails, the ones after it are not created.
func TestFailedStatefulSetPodStopsItsSuccessors(t *testing.T) {
	w := newWorld()
	p := &play.Play{}
	for _, n := range []string{"db-0", "db-1", "db-2"} {
		p.Pods = append(p.Pods, podspec.Pod{Name: n, Owner: &podspec.Owner{Kind: "StatefulSet", Name: "db"}})
	}
	w.failStep, w.failName = "pod", "db-1"
	if _, err := w.engine().Play(context.Background(), p, startOpts); !errors.Is(err, errInjected) {
		t.Fatalf("play: %v", err)
	}
	if len(w.pods) != 0 {
		t.Errorf("pods left: %v", w.pods)
	}
}

func TestPlayRefusesExistingPods(t *testing.T) {
	w := newWorld()
	e := w.engine()
	if _, err := e.Play(context.Background(), testPlay(), startOpts); err != nil {
		t.Fatal(err)
	}
	before := w.snapshot()
	_, err := e.Play(context.Background(), testPlay(), startOpts)
	if err == nil || !strings.Contains(err.Error(), "already exists: use --replace") {
		t.Fatalf("second play: %v, want a refusal naming --replace", err)
	}
	if after := w.snapshot(); after != before {
		t.Errorf("a refused play changed things:\n%s\nwant:\n%s", after, before)
	}
	o := startOpts
	o.Replace = true
	if _, err := e.Play(context.Background(), testPlay(), o); err != nil {
		t.Fatalf("play --replace: %v", err)
	}
	if len(w.pods) != 4 {
		t.Errorf("after --replace: %d pods, want 4", len(w.pods))
	}
}

func TestDownRemovesWhatThePlayMade(t *testing.T) {
	for _, force := range []bool{false, true} {
		w := existing()
		e := w.engine()
		if _, err := e.Play(context.Background(), testPlay(), startOpts); err != nil {
			t.Fatal(err)
		}
		if err := e.Down(context.Background(), testPlay(), DownOptions{Force: force}); err != nil {
			t.Fatalf("down (force %v): %v", force, err)
		}
		if len(w.pods) != 0 || len(w.jobs) != 0 || len(w.started) != 0 {
			t.Errorf("down (force %v) left pods %v, jobs %v", force, w.pods, w.jobs)
		}
		if _, ok := w.services["default/web"]; ok {
			t.Errorf("down (force %v) left the Service", force)
		}
		if _, ok := w.services["default/other"]; !ok {
			t.Errorf("down (force %v) removed another play's Service", force)
		}
		if _, ok := w.objects[KindConfigMap]["default/settings"]; ok {
			t.Errorf("down (force %v) left the ConfigMap record", force)
		}
		claims := len(w.objects[KindClaim])
		if force != (!w.volumes["data-db-0"] && claims == 0) {
			t.Errorf("down (force %v): volumes %v, %d claim records: want claims kept without force, removed with it", force, w.volumes, claims)
		}
	}
}

// TestDownOfNothingSucceeds: kube down of files never played is not an error.
func TestDownOfNothingSucceeds(t *testing.T) {
	w := newWorld()
	if err := w.engine().Down(context.Background(), testPlay(), DownOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
}
