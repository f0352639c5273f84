#!/bin/sh
### BEGIN INIT INFO
# Provides:          delayed_job
# Required-Start:    $remote_fs $network
# Required-Stop:     $remote_fs $network
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: Dryad delayed_job workers (Zenodo copies)
### END INIT INFO
# Lab copy of the "new servers" service: the same command the systemd unit
# runs (WorkingDirectory=<deploy>/current, `bundle exec bin/delayed_job -n 3
# start|stop`), as the app's role account. `stop` is TERM, a wait, then KILL.
DEPLOY=@DEPLOY@
APP_USER=@USER@
WORKERS=@WORKERS@
PIDFILE=$DEPLOY/current/tmp/pids/delayed_job.pid

run() {
	cd "$DEPLOY/current" || { echo "delayed_job: no $DEPLOY/current" >&2; exit 1; }
	runuser -u "$APP_USER" -- env RAILS_ENV=@RAILS_ENV@ bin/delayed_job -n "$WORKERS" "$1"
}

case "$1" in
	start)   echo "Starting delayed_job"; run start ;;
	stop)    echo "Stopping delayed_job"; run stop ;;
	restart) echo "Restarting delayed_job"; run stop && run start ;;
	status)  run status ;;
	*) echo "Usage: /etc/init.d/delayed_job {start|stop|restart|status}" >&2; exit 3 ;;
esac
