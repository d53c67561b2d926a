package main

import (
	"slices"
	"time"

	"github.com/podbay/podbay/engine/image"
	"github.com/podbay/podbay/internal/report"
)

// imagesSpec is what images --format may name: Podman's placeholders.
var imagesSpec = report.Spec{
	Name:    "images",
	Default: "{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Created}}\t{{.Size}}",
	Headers: map[string]string{"ID": "IMAGE ID", "Id": "IMAGE ID", "CreatedSince": "CREATED", "CreatedTime": "CREATED AT"},
	Item:    imageItem{},
}

// imageItem is one name of an image (or its ID when it has none), as
// images --format sees it.
type imageItem struct {
	img  *image.Image
	name string // "" when the image has no name
}

// imageItems gives each image a row for each of its names, as Podman does.
func imageItems(imgs []*image.Image) []imageItem {
	var rows []imageItem
	for _, img := range imgs {
		if len(img.Names) == 0 {
			rows = append(rows, imageItem{img: img})
		}
		for _, n := range img.Names {
			rows = append(rows, imageItem{img: img, name: n})
		}
	}
	return rows
}

func (r imageItem) ID() string { return short(r.img.ID) }
func (r imageItem) Id() string { return r.img.ID } //nolint:revive // Podman's name: the full ID

// Repository and Tag split the name; <none> where there is none.
func (r imageItem) Repository() string { repo, _ := r.repoTag(); return repo }
func (r imageItem) Tag() string        { _, tag := r.repoTag(); return tag }

func (r imageItem) repoTag() (string, string) {
	if r.name == "" {
		return "<none>", "<none>"
	}
	return splitRepoTag(r.name)
}

func (r imageItem) Digest() string        { return r.img.Digest }
func (r imageItem) Created() string       { return humanDuration(r.img.Created) }
func (r imageItem) CreatedSince() string  { return humanDuration(r.img.Created) }
func (r imageItem) CreatedAt() string     { return time.Unix(r.img.Created.Unix(), 0).String() }
func (r imageItem) CreatedTime() string   { return r.CreatedAt() }
func (r imageItem) Size() string          { return humanSize(r.img.Size) }
func (r imageItem) VirtualSize() int64    { return r.img.Size }
func (r imageItem) SharedSize() int64     { return 0 }
func (r imageItem) Names() []string       { return r.img.Names }
func (r imageItem) RepoTags() []string    { return r.img.Names }
func (r imageItem) RepoDigests() []string { return repoDigests(r.img) }
func (r imageItem) Dangling() bool        { return len(r.img.Names) == 0 }
func (r imageItem) IsDangling() bool      { return len(r.img.Names) == 0 }
func (r imageItem) ReadOnly() bool        { return false }
func (r imageItem) IsReadOnly() bool      { return false }

func (r imageItem) Labels() map[string]string { return r.img.Config.Config.Labels }

// repoDigests names the image by digest in each repository it has a name in.
func repoDigests(img *image.Image) []string {
	out := []string{}
	for _, n := range img.Names {
		repo, _ := splitRepoTag(n)
		if d := repo + "@" + img.Digest; img.Digest != "" && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}
