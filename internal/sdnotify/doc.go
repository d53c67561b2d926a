// Package sdnotify tells systemd about a service's state over the socket
// named by $NOTIFY_SOCKET, as sd_notify(3) does: READY=1 once the service
// is up, STATUS= lines, STOPPING=1 on the way down.
package sdnotify
