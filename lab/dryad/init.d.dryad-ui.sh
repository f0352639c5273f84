#!/bin/sh
### BEGIN INIT INFO
# Provides:          dryad-ui
# Required-Start:    $remote_fs $network
# Required-Stop:     $remote_fs $network
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: Dryad UI web process (lab: publishes datasets, runs the Merritt queue)
### END INIT INFO
DEPLOY=@DEPLOY@
APP_USER=@USER@
NAME=dryad-ui
PIDFILE=/run/dryad/$NAME.pid
STOP_TIMEOUT=${STOP_TIMEOUT:-10}

case "$1" in
	start)
		echo "Starting $NAME"
		mkdir -p /run/dryad && chown "$APP_USER" /run/dryad
		start-stop-daemon --start --quiet --oknodo --background --make-pidfile --pidfile "$PIDFILE" \
			--chuid "$APP_USER" --chdir "$DEPLOY/current" --startas /usr/bin/python3 -- \
			"$DEPLOY/current/lib/dryad_app.py" web ;;
	stop)
		echo "Stopping $NAME"
		start-stop-daemon --stop --quiet --oknodo --retry "TERM/$STOP_TIMEOUT" --pidfile "$PIDFILE" --remove-pidfile ;;
	restart) "$0" stop && "$0" start ;;
	status)
		start-stop-daemon --status --pidfile "$PIDFILE"; rc=$?
		[ $rc -eq 0 ] && echo "$NAME is running (pid $(cat "$PIDFILE"))" || echo "$NAME is not running"
		exit $rc ;;
	*) echo "Usage: /etc/init.d/$NAME {start|stop|restart|status}" >&2; exit 3 ;;
esac
