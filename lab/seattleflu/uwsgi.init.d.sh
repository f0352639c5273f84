#!/bin/sh
### BEGIN INIT INFO
# Provides:          uwsgi@husky-musher
# Required-Start:    $remote_fs $network
# Required-Stop:     $remote_fs $network
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: husky-musher under uWSGI
### END INIT INFO
# Lab copy of the uwsgi@husky-musher unit: reload = SIGHUP, stop = SIGQUIT.
NAME=uwsgi@husky-musher
RUNDIR=/run/uwsgi/app/husky-musher
PIDFILE=$RUNDIR/pid
INI=/opt/husky-musher/uwsgi.ini
STOP_TIMEOUT=${STOP_TIMEOUT:-10}

running() { [ -s "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

case "$1" in
	start)
		echo "Starting $NAME"
		running && exit 0
		mkdir -p "$RUNDIR" /run/husky-musher /var/log/uwsgi/app
		chown www-data:www-data "$RUNDIR" /run/husky-musher /var/log/uwsgi/app
		/usr/bin/uwsgi --ini "$INI" ;;
	stop)
		echo "Stopping $NAME"
		running || { rm -f "$PIDFILE"; exit 0; }
		pid=$(cat "$PIDFILE")
		kill -QUIT "$pid"
		i=0
		while kill -0 "$pid" 2>/dev/null; do
			i=$((i + 1)); [ $i -gt $((STOP_TIMEOUT * 10)) ] && { echo "$NAME did not stop"; exit 1; }
			sleep 0.1
		done
		rm -f "$PIDFILE" ;;
	reload)
		echo "Reloading $NAME"
		running || { echo "$NAME is not running"; exit 7; }
		kill -HUP "$(cat "$PIDFILE")" ;;
	restart) "$0" stop && "$0" start ;;
	status)
		if running; then echo "$NAME is running (pid $(cat "$PIDFILE"))"; exit 0; fi
		[ -e "$PIDFILE" ] && { echo "$NAME is not running but $PIDFILE exists"; exit 1; }
		echo "$NAME is not running"; exit 3 ;;
	*) echo "Usage: /etc/init.d/$NAME {start|stop|reload|restart|status}" >&2; exit 3 ;;
esac
