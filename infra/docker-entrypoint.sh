#!/bin/sh
# The image's entrypoint: `gunicorn …` runs gunicorn (the web process, the default CMD);
# anything else is a `brokerdesk` subcommand: migrate, worker, beat, tenant, check, …
set -e
if [ "$#" -eq 0 ]; then
    set -- help
fi
if [ "$1" = "gunicorn" ]; then
    exec "$@"
fi
exec brokerdesk "$@"
