#!/bin/sh
### BEGIN INIT INFO
# Provides:          @NAME@-daemon
# Required-Start:    $remote_fs $network
# Required-Stop:     $remote_fs $network
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: Permanent @NAME@-daemon (task runner)
### END INIT INFO
# Lab copy of Permanent's init script: the daemon runs as www-data and logs
# to /var/log/permanent/@NAME@-daemon.{out,err}.log.
NAME=@NAME@-daemon
DAEMON=/usr/bin/python3
DAEMON_ARGS="/data/www/daemon/index.py @NAME@"
PIDFILE=/run/permanent/$NAME.pid
LOGDIR=/var/log/permanent
STOP_TIMEOUT=${STOP_TIMEOUT:-10}

do_start() {
	mkdir -p /run/permanent "$LOGDIR"
	chown www-data:www-data /run/permanent "$LOGDIR"
	start-stop-daemon --start --quiet --oknodo --background --make-pidfile --pidfile "$PIDFILE" \
		--chuid www-data --startas /bin/sh -- -c \
		"exec $DAEMON $DAEMON_ARGS >>$LOGDIR/$NAME.out.log 2>>$LOGDIR/$NAME.err.log"
}

do_stop() {
	# TERM, then wait up to STOP_TIMEOUT; exit 2 if it is still running.
	start-stop-daemon --stop --quiet --oknodo --retry "TERM/$STOP_TIMEOUT" --pidfile "$PIDFILE" --remove-pidfile
}

case "$1" in
	start)   echo "Starting $NAME"; do_start ;;
	stop)    echo "Stopping $NAME"; do_stop ;;
	restart) echo "Restarting $NAME"; do_stop && do_start ;;
	status)
		start-stop-daemon --status --pidfile "$PIDFILE"; rc=$?
		case $rc in
			0) echo "$NAME is running (pid $(cat "$PIDFILE"))" ;;
			1) echo "$NAME is not running but $PIDFILE exists" ;;
			*) echo "$NAME is not running" ;;
		esac
		exit $rc ;;
	*) echo "Usage: /etc/init.d/$NAME {start|stop|restart|status}" >&2; exit 3 ;;
esac
