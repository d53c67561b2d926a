package runtime

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// User is a resolved container user: ids plus the home directory.
type User struct {
	specs.User
	Home string
}

type passwdEntry struct {
	name     string
	uid, gid uint32
	home     string
}

type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

// LookupUser resolves "name|uid[:group|gid]" against rootfs' /etc/passwd and
// /etc/group, adding the supplementary groups that list the user. A numeric
// uid absent from /etc/passwd is allowed (gid 0, home /), a name is not.
func LookupUser(rootfs, spec string) (User, error) {
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	if userPart == "" {
		userPart = "0"
	}
	users, err := readPasswd(rootfs)
	if err != nil {
		return User{}, err
	}
	u := User{Home: "/"}
	var entry *passwdEntry
	if uid, err := parseID(userPart); err == nil {
		u.UID = uid
		entry = findPasswd(users, func(e passwdEntry) bool { return e.uid == uid })
	} else {
		entry = findPasswd(users, func(e passwdEntry) bool { return e.name == userPart })
		if entry == nil {
			return User{}, fmt.Errorf("looking up user %q: no such user in /etc/passwd", userPart)
		}
		u.UID = entry.uid
	}
	if entry != nil {
		u.GID, u.Home = entry.gid, entry.home
	}
	groups, err := readGroup(rootfs)
	if err != nil {
		return User{}, err
	}
	if hasGroup && groupPart != "" {
		if gid, err := parseID(groupPart); err == nil {
			u.GID = gid
		} else {
			i := slices.IndexFunc(groups, func(g groupEntry) bool { return g.name == groupPart })
			if i < 0 {
				return User{}, fmt.Errorf("looking up group %q: no such group in /etc/group", groupPart)
			}
			u.GID = groups[i].gid
		}
	}
	if entry != nil {
		for _, g := range groups {
			if g.gid != u.GID && slices.Contains(g.members, entry.name) && !slices.Contains(u.AdditionalGids, g.gid) {
				u.AdditionalGids = append(u.AdditionalGids, g.gid)
			}
		}
	}
	return u, nil
}

// WithUser sets the process user from "name|uid[:group|gid]", resolving names
// in rootfs (the spec's root path when rootfs is empty), and sets HOME unless
// already set.
func WithUser(rootfs, user string) SpecOpt {
	return func(s *specs.Spec) error {
		if rootfs == "" && s.Root != nil {
			rootfs = s.Root.Path
		}
		u, err := LookupUser(rootfs, user)
		if err != nil {
			return err
		}
		p := ensureProcess(s)
		p.User = u.User
		if envIndex(p.Env, "HOME") < 0 {
			p.Env = append(p.Env, "HOME="+u.Home)
		}
		return nil
	}
}

func parseID(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err
}

func findPasswd(users []passwdEntry, match func(passwdEntry) bool) *passwdEntry {
	for i := range users {
		if match(users[i]) {
			return &users[i]
		}
	}
	return nil
}

// readRootFile reads name inside rootfs without following symlinks out of it;
// a missing file (or no rootfs) reads as empty.
func readRootFile(rootfs, name string) ([][]string, error) {
	if rootfs == "" {
		return nil, nil
	}
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return nil, fmt.Errorf("opening rootfs %q: %w", rootfs, err)
	}
	defer root.Close()
	f, err := root.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("opening /%s in rootfs: %w", name, err)
	}
	defer f.Close()
	var rows [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		rows = append(rows, strings.Split(line, ":"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading /%s in rootfs: %w", name, err)
	}
	return rows, nil
}

func readPasswd(rootfs string) ([]passwdEntry, error) {
	rows, err := readRootFile(rootfs, "etc/passwd")
	var out []passwdEntry
	for _, r := range rows {
		if len(r) < 6 {
			continue
		}
		uid, err1 := parseID(r[2])
		gid, err2 := parseID(r[3])
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, passwdEntry{name: r[0], uid: uid, gid: gid, home: r[5]})
	}
	return out, err
}

func readGroup(rootfs string) ([]groupEntry, error) {
	rows, err := readRootFile(rootfs, "etc/group")
	var out []groupEntry
	for _, r := range rows {
		if len(r) < 3 {
			continue
		}
		gid, err := parseID(r[2])
		if err != nil {
			continue
		}
		g := groupEntry{name: r[0], gid: gid}
		if len(r) > 3 && r[3] != "" {
			g.members = strings.Split(r[3], ",")
		}
		out = append(out, g)
	}
	return out, err
}
