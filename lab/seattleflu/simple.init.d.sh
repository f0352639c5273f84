#!/bin/sh
### BEGIN INIT INFO
# Provides:          @NAME@
# Required-Start:    $remote_fs $network
# Required-Stop:     $remote_fs $network
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: @DESC@
### END INIT INFO
# Lab init script: runs @PROGRAM@ as @USER@ from @CWD@, logging to @LOG@.
NAME=@NAME@
PIDFILE=/run/@NAME@.pid
LOG=@LOG@
STOP_TIMEOUT=${STOP_TIMEOUT:-@STOP_TIMEOUT@}

do_start() {
	mkdir -p "$(dirname "$LOG")"
	chown @USER@ "$(dirname "$LOG")"
	start-stop-daemon --start --quiet --oknodo --background --make-pidfile --pidfile "$PIDFILE" \
		--chuid @USER@ --chdir @CWD@ --startas /bin/sh -- -c "exec @PROGRAM@ >>$LOG 2>&1"
}

do_stop() {
	# TERM, then wait up to STOP_TIMEOUT; exit non-zero if it is still running.
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
