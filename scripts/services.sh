# Sourced by scripts/test and scripts/bench: make sure PostgreSQL and Redis answer.
#
# Where they already run (127.0.0.1:5432 with trust auth, 127.0.0.1:6379), they are
# used as they are. Otherwise they are installed from Debian's packages and started on
# free ports in a temporary folder, and stopped again when the calling script exits.
# Exports ROOST_TEST_POSTGRES_URL and ROOST_TEST_REDIS_URL.

_roost_tmp=""
_roost_started_pg=""
_roost_started_redis=""

_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

_apt_install() {
    if [ -z "${_roost_apt_updated:-}" ]; then
        apt-get update -qq >/dev/null
        _roost_apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

_roost_tmpdir() {
    if [ -z "$_roost_tmp" ]; then
        _roost_tmp=$(mktemp -d /tmp/roost-services.XXXXXX)
        chmod 755 "$_roost_tmp"
    fi
}

roost_stop_services() {
    if [ -n "$_roost_started_pg" ]; then
        runuser -u postgres -- "$_roost_started_pg/pg_ctl" -D "$_roost_tmp/pg" -m immediate stop >/dev/null 2>&1 || true
    fi
    if [ -n "$_roost_started_redis" ]; then
        redis-cli -p "$_roost_started_redis" shutdown nosave >/dev/null 2>&1 || true
    fi
    if [ -n "$_roost_tmp" ]; then rm -rf "$_roost_tmp"; fi
}

roost_ensure_postgres() {
    if [ -n "${ROOST_TEST_POSTGRES_URL:-}" ]; then return; fi
    if _port_open 5432 && psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
        export ROOST_TEST_POSTGRES_URL="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
        return
    fi
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || _apt_install postgresql
    local bin port
    bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")
    port=$(_free_port)
    _roost_tmpdir
    install -d -o postgres "$_roost_tmp/pg"
    runuser -u postgres -- "$bin/initdb" -D "$_roost_tmp/pg" -A trust -U postgres >/dev/null
    runuser -u postgres -- "$bin/pg_ctl" -D "$_roost_tmp/pg" -l "$_roost_tmp/pg/log" -w \
        -o "-p $port -k $_roost_tmp/pg -c listen_addresses=127.0.0.1 -c fsync=on" start >/dev/null
    _roost_started_pg="$bin"
    export ROOST_TEST_POSTGRES_URL="postgresql+asyncpg://postgres@127.0.0.1:$port/postgres"
    echo "started PostgreSQL on port $port for this run"
}

roost_ensure_redis() {
    if [ -n "${ROOST_TEST_REDIS_URL:-}" ]; then return; fi
    if _port_open 6379; then
        export ROOST_TEST_REDIS_URL="redis://127.0.0.1:6379"
        return
    fi
    command -v redis-server >/dev/null 2>&1 || _apt_install redis-server
    local port
    port=$(_free_port)
    _roost_tmpdir
    redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
        --dir "$_roost_tmp" --logfile "$_roost_tmp/redis.log" >/dev/null
    for _ in $(seq 50); do _port_open "$port" && break; sleep 0.1; done
    _roost_started_redis="$port"
    export ROOST_TEST_REDIS_URL="redis://127.0.0.1:$port"
    echo "started Redis on port $port for this run"
}

# The real tools that validate roost's exports offline (no systemd PID 1, no Docker engine
# needed): systemd-analyze verify and docker-compose (v1) config.
roost_ensure_validators() {
    command -v systemd-analyze >/dev/null 2>&1 || _apt_install systemd
    command -v docker-compose >/dev/null 2>&1 || _apt_install docker-compose
    command -v promtool >/dev/null 2>&1 || _apt_install prometheus
    command -v restic >/dev/null 2>&1 || _apt_install restic  # the restic backup target
    # the dashboard's browser tests drive Debian's Chromium (Playwright cannot fetch one)
    [ -x /usr/bin/chromium ] || _apt_install chromium
}
