#!/bin/sh
### BEGIN INIT INFO
# Provides:          processing-worker
# Required-Start:    $remote_fs $network
# Required-Stop:     $remote_fs $network
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: Distributed processing queue worker ("container")
### END INIT INFO
# Lab worker of the distributed processing queue: claims batches from
# processing_queue, runs as nobody, logs to /var/log/processing/.
NAME=processing-worker
DAEMON=/usr/bin/python3
DAEMON_ARGS="/opt/processing/worker.py /opt/processing/worker.json"
PIDFILE=/run/processing/$NAME.pid
LOGDIR=/var/log/processing
STOP_TIMEOUT=${STOP_TIMEOUT:-10}

do_start() {
	mkdir -p /run/processing "$LOGDIR"
	chown nobody:nogroup /run/processing "$LOGDIR"
	start-stop-daemon --start --quiet --oknodo --background --make-pidfile --pidfile "$PIDFILE" \
		--chuid nobody:nogroup --startas /bin/sh -- -c \
		"exec $DAEMON $DAEMON_ARGS >>$LOGDIR/$NAME.out.log 2>>$LOGDIR/$NAME.err.log"
}

do_stop() {
	# TERM (the worker finishes its batch), wait up to STOP_TIMEOUT; exit 2 if still running.
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
