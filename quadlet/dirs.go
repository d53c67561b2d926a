package quadlet

import (
	"path/filepath"
	"strconv"
)

// Where the generator looks for Quadlet files, first first: a file name
// found in an earlier directory hides the same name in a later one.
var (
	// SystemDirs are the system manager's: podbay's own, then Podman's.
	SystemDirs = []string{"/run/podbay/systemd", "/etc/podbay/systemd", "/run/containers/systemd",
		"/etc/containers/systemd", "/usr/share/containers/systemd"}
	// UsersDir holds an administrator's files for users' managers; the
	// system manager skips it.
	UsersDir = "/etc/containers/systemd/users"
)

// UserDirs are a user's manager's: the user's own configuration (podbay's,
// then Podman's), then what the administrator put for this user, then for
// every user (only the files directly in UsersDir).
func UserDirs(configHome string, uid int) []string {
	return []string{
		filepath.Join(configHome, "podbay", "systemd"),
		filepath.Join(configHome, "containers", "systemd"),
		filepath.Join(UsersDir, strconv.Itoa(uid)),
		UsersDir,
	}
}
