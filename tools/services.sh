#!/usr/bin/env bash
# Starts and stops the servers the tests need, on loopback ports, in a temporary folder.
#   tools/services.sh start [postgres] [redis] [mariadb] [mongo]   (default: postgres)
#   tools/services.sh stop
#   tools/services.sh kill postgres|redis|mariadb|mongo   (SIGKILL; PostgreSQL: fast stop; data folder kept; `start` brings it back)
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
    port_free PostgreSQL "$PG_PORT"
    mkdir -p "$DIR/pg"
    echo "$PG_PORT" > "$DIR/pg/port"
    chown postgres: "$DIR" "$DIR/pg" && chmod 755 "$DIR" && chmod 700 "$DIR/pg"
    if [ ! -f "$DIR/pg/data/PG_VERSION" ]; then
        runuser -u postgres -- "$PG_BIN/initdb" -D "$DIR/pg/data" -U postgres -A trust -E UTF8 --no-locale >/dev/null
    fi
    # fsync off: these are throw-away test data; max_connections covers several replicas per test.
    # In a subshell without inherited descriptors: the postmaster outlives pg_ctl, and a caller
    # (a test restarting PostgreSQL) must not wait on a descriptor it would hold.
    ( detached runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$DIR/pg/data" -l "$DIR/pg/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=$DIR/pg -c max_connections=300 -c fsync=off" \
        start >/dev/null )
    wait_for PostgreSQL "$PG_BIN/pg_isready" -h 127.0.0.1 -p "$PG_PORT"
}

stop_postgres() {
    if [ -d "$DIR/pg/data" ]; then
        runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$DIR/pg/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
}

# Runs a server without the file descriptors this script inherited beyond 0-2, so that a caller
# watching a pipe (a test harness) does not wait for a daemon that happens to hold it.
detached() {
    local fd
    for fd in /proc/$BASHPID/fd/*; do
        fd=${fd##*/}
        [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null
    done
    exec "$@"
}

# A port already answering, but not with a server of this folder: refuse rather than use a stranger's.
port_free() { # service, port
    if bash -c "exec 3<>/dev/tcp/127.0.0.1/$2" 2>/dev/null; then
        echo "port $2 for $1 is taken by another process (set TOKENLEDGER_*_PORT to another one)" >&2
        return 1
    fi
}

# Stops use the port a service was started on, whatever the environment says now.
saved_port() { cat "$DIR/$1/port" 2>/dev/null || echo "$2"; }

start_redis() {
    need_packages redis-server
    if [ -f "$DIR/redis/redis.pid" ] && redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then return 0; fi
    port_free Redis "$REDIS_PORT"
    mkdir -p "$DIR/redis"
    echo "$REDIS_PORT" > "$DIR/redis/port"
    (detached redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --daemonize yes \
        --dir "$DIR/redis" --pidfile "$DIR/redis/redis.pid" --logfile "$DIR/redis/redis.log")
    wait_for Redis redis-cli -p "$REDIS_PORT" ping
}

stop_redis() {
    [ -f "$DIR/redis/redis.pid" ] && redis-cli -p "$(saved_port redis "$REDIS_PORT")" shutdown nosave >/dev/null 2>&1 || true
}

mysql_admin() { mariadb-admin --no-defaults -uroot -h127.0.0.1 -P"${1}" --protocol=tcp "${@:2}"; }

start_mariadb() {
    need_packages mariadb-server mariadb-client
    if [ -f "$DIR/mysql/mysqld.pid" ] && mysql_admin "$MYSQL_PORT" ping >/dev/null 2>&1; then return 0; fi
    port_free MariaDB "$MYSQL_PORT"
    mkdir -p "$DIR/mysql"
    echo "$MYSQL_PORT" > "$DIR/mysql/port"
    if [ ! -d "$DIR/mysql/data/mysql" ]; then
        mariadb-install-db --no-defaults --user=root --datadir="$DIR/mysql/data" \
            --auth-root-authentication-method=normal --skip-test-db >/dev/null
    fi
    # Flushes off: throw-away test data.
    (detached mariadbd --no-defaults --user=root --datadir="$DIR/mysql/data" --bind-address=127.0.0.1 --port="$MYSQL_PORT" \
        --socket="$DIR/mysql/mysqld.sock" --pid-file="$DIR/mysql/mysqld.pid" --log-error="$DIR/mysql/error.log" \
        --skip-log-bin --innodb-buffer-pool-size=64M --innodb-flush-log-at-trx-commit=0 >/dev/null 2>&1 </dev/null) &
    wait_for MariaDB mysql_admin "$MYSQL_PORT" ping
    mariadb --no-defaults -uroot -h127.0.0.1 -P"$MYSQL_PORT" --protocol=tcp -e 'CREATE DATABASE IF NOT EXISTS tokenledger'
}

stop_mariadb() {
    [ -f "$DIR/mysql/mysqld.pid" ] && mysql_admin "$(saved_port mysql "$MYSQL_PORT")" shutdown >/dev/null 2>&1 || true
}

MONGO_VENV=${TOKENLEDGER_MONGO_VENV:-/tmp/tokenledger-secantus}

start_mongo() {
    need_packages python3-venv
    if [ ! -x "$MONGO_VENV/bin/secantusd-py" ]; then
        echo "installing SecantusDB into $MONGO_VENV"
        python3 -m venv "$MONGO_VENV"
        "$MONGO_VENV/bin/pip" install -q 'SecantusDB==0.7.0b3'
    fi
    if [ -f "$DIR/mongo/pid" ] && kill -0 "$(cat "$DIR/mongo/pid")" 2>/dev/null; then return 0; fi
    port_free "the MongoDB-protocol server" "$MONGO_PORT"
    mkdir -p "$DIR/mongo/data"
    echo "$MONGO_PORT" > "$DIR/mongo/port"
    (detached "$MONGO_VENV/bin/secantusd-py" --host 127.0.0.1 --port "$MONGO_PORT" --storage-path "$DIR/mongo/data" \
        --log-level WARNING >"$DIR/mongo/server.log" 2>&1 </dev/null) &
    echo $! > "$DIR/mongo/pid"
    wait_for "the MongoDB-protocol server" bash -c "exec 3<>/dev/tcp/127.0.0.1/$MONGO_PORT"
    sleep 1
}

stop_mongo() {
    if [ -f "$DIR/mongo/pid" ]; then
        local pid; pid=$(cat "$DIR/mongo/pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
}

write_env() {
    mkdir -p "$DIR"
    {
        [ -d "$DIR/pg/data" ] && echo "export TOKENLEDGER_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$(saved_port pg "$PG_PORT")/postgres"
        [ -d "$DIR/redis" ] && echo "export TOKENLEDGER_TEST_REDIS_URL=redis://127.0.0.1:$(saved_port redis "$REDIS_PORT")/0"
        [ -d "$DIR/mysql" ] && echo "export TOKENLEDGER_TEST_MYSQL_URL=mysql://root@127.0.0.1:$(saved_port mysql "$MYSQL_PORT")/tokenledger"
        [ -d "$DIR/mongo" ] && echo "export TOKENLEDGER_TEST_MONGO_URL=mongodb://127.0.0.1:$(saved_port mongo "$MONGO_PORT")/tokenledger?directConnection=true"
        echo "export TOKENLEDGER_SERVICES_DIR=$DIR"
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
                redis) start_redis ;;
                mariadb) start_mariadb ;;
                mongo) start_mongo ;;
                *) echo "unknown service '$service' (postgres redis mariadb mongo)" >&2; exit 2 ;;
            esac
        done
        write_env
        cat "$DIR/services.env"
        ;;
    kill)
        for service in "$@"; do
            case "$service" in
                # PostgreSQL is stopped (fast shutdown), not SIGKILLed: its data is what the tests check.
                postgres) stop_postgres; continue ;;
                redis) pidfile="$DIR/redis/redis.pid"; port=$(saved_port redis "$REDIS_PORT") ;;
                mariadb) pidfile="$DIR/mysql/mysqld.pid"; port=$(saved_port mysql "$MYSQL_PORT") ;;
                mongo) pidfile="$DIR/mongo/pid"; port=$(saved_port mongo "$MONGO_PORT") ;;
                *) echo "kill: postgres, redis, mariadb or mongo, not '$service'" >&2; exit 2 ;;
            esac
            [ -f "$pidfile" ] && kill -9 "$(cat "$pidfile")" 2>/dev/null || true
            rm -f "$pidfile"
            for _ in $(seq 1 100); do bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null || break; sleep 0.1; done
        done
        ;;
    stop)
        stop_mongo
        stop_mariadb
        stop_redis
        stop_postgres
        rm -rf "$DIR"
        ;;
    env)
        cat "$DIR/services.env" 2>/dev/null || true
        ;;
    *)
        echo "usage: $0 start [postgres] [redis] [mariadb] [mongo] | stop | env" >&2
        exit 2
        ;;
esac
