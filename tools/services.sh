#!/usr/bin/env bash
# Starts and stops the servers the tests need, on loopback ports, in a temporary folder.
#   tools/services.sh start [postgres] [redis] [mariadb] [mongo]   (default: postgres)
#   tools/services.sh stop
#   tools/services.sh env       (prints the export lines of what runs)
# Only what this script started is stopped; nothing is started through systemd.
set -euo pipefail

DIR=${TOKENLEDGER_SERVICES_DIR:-/tmp/tokenledger-services}
PG_PORT=${TOKENLEDGER_PG_PORT:-55432}
REDIS_PORT=${TOKENLEDGER_REDIS_PORT:-56379}
MYSQL_PORT=${TOKENLEDGER_MYSQL_PORT:-53306}
MONGO_PORT=${TOKENLEDGER_MONGO_PORT:-57017}
PG_BIN=/usr/lib/postgresql/15/bin

apt_updated=0
need_packages() {
    local missing=()
    for package in "$@"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        if [ $apt_updated -eq 0 ]; then apt-get update -qq; apt_updated=1; fi
        echo "installing ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

wait_for() { # description, command...
    local what=$1; shift
    for _ in $(seq 1 150); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    echo "$what did not come up" >&2
    return 1
}

start_postgres() {
    need_packages postgresql
    if [ -f "$DIR/pg/data/postmaster.pid" ] && runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$DIR/pg/data" status >/dev/null 2>&1; then
        return 0
    fi
    mkdir -p "$DIR/pg"
    chown postgres: "$DIR" "$DIR/pg" && chmod 755 "$DIR" && chmod 700 "$DIR/pg"
    if [ ! -f "$DIR/pg/data/PG_VERSION" ]; then
        runuser -u postgres -- "$PG_BIN/initdb" -D "$DIR/pg/data" -U postgres -A trust -E UTF8 --no-locale >/dev/null
    fi
    # fsync off: these are throw-away test data; max_connections covers several replicas per test.
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$DIR/pg/data" -l "$DIR/pg/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=$DIR/pg -c max_connections=300 -c fsync=off" \
        start >/dev/null
    wait_for PostgreSQL "$PG_BIN/pg_isready" -h 127.0.0.1 -p "$PG_PORT"
}

stop_postgres() {
    if [ -d "$DIR/pg/data" ]; then
        runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$DIR/pg/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
}

write_env() {
    mkdir -p "$DIR"
    {
        [ -d "$DIR/pg/data" ] && echo "export TOKENLEDGER_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$PG_PORT/postgres"
        true
    } > "$DIR/services.env"
}

command=${1:-}
shift || true
case "$command" in
    start)
        wanted=("$@")
        [ ${#wanted[@]} -eq 0 ] && wanted=(postgres)
        mkdir -p "$DIR"
        for service in "${wanted[@]}"; do
            case "$service" in
                postgres) start_postgres ;;
                *) echo "unknown service '$service' (postgres)" >&2; exit 2 ;;
            esac
        done
        write_env
        cat "$DIR/services.env"
        ;;
    stop)
        stop_postgres
        rm -rf "$DIR"
        ;;
    env)
        cat "$DIR/services.env" 2>/dev/null || true
        ;;
    *)
        echo "usage: $0 start [postgres] | stop | env" >&2
        exit 2
        ;;
esac
