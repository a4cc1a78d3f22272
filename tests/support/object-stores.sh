#!/usr/bin/env bash
# Real object-storage servers on 127.0.0.1 for tally's tests and CI:
#   moto_server   (S3 API, PyPI package moto[server])
#   azurite-blob  (Azure Blob API, npm package azurite)
#
# Usage:
#   object-stores.sh install     install the tools into the cache dir (idempotent, flock-serialised)
#   object-stores.sh start DIR   start both servers (logs and state in DIR) and print KEY=VALUE lines
#   object-stores.sh stop DIR    stop the servers listed in DIR/pids
#
# Cache dir: ${TALLY_TEST_TOOLS:-$HOME/.cache/tally-test-tools}
# stdout of `start` is only KEY=VALUE lines (one per line); everything else goes to stderr.
# The KEY names are the ones object_store 0.13's AmazonS3Builder::from_env (AWS_*) and
# MicrosoftAzureBuilder::from_env (AZURE_*, plus AZURITE_BLOB_STORAGE_URL in emulator mode) read.
set -euo pipefail

# ---- pinned versions (verified with python 3.11 and node 20) --------------------------------
MOTO_SPEC='moto[server]==5.2.5'
AZURE_BLOB_SPEC='azure-storage-blob==12.31.1'
AZURITE_VERSION='3.35.0' # 3.37+ needs node 22

BUCKET='tally-test'
CONTAINER='tally-test'
AZ_ACCOUNT='devstoreaccount1'
# Azurite's public, well-known development key (not a secret).
AZ_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
READY_TIMEOUT="${TALLY_OBJECT_STORES_TIMEOUT:-30}" # seconds, per start attempt
LOCK_TIMEOUT=1200                                  # seconds to wait for another process' install

PYTHON="${TALLY_PYTHON:-python3}"
TOOLS="${TALLY_TEST_TOOLS:-${HOME:-/tmp}/.cache/tally-test-tools}"
VENV="$TOOLS/venv"
AZURITE_DIR="$TOOLS/azurite-$AZURITE_VERSION"
AZURITE_MAIN="$AZURITE_DIR/node_modules/azurite/dist/src/blob/main.js"
INSTALL_LOG="$TOOLS/install.log"

# Never send loopback traffic through a proxy.
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
export no_proxy="$NO_PROXY"

ME="object-stores.sh"
log() { echo "$ME: $*" >&2; }
die() {
    echo "$ME: error: $*" >&2
    exit 1
}
# die, showing the tail of a log file first (the last stderr line is the one-line reason).
die_log() {
    local file="$1"
    shift
    if [[ -s "$file" ]]; then
        tail -n 25 "$file" | sed 's/^/    | /' >&2
    fi
    die "$*"
}

now() { date +%s; }

# ---- install ---------------------------------------------------------------------------------
python_version() { "$PYTHON" -c 'import sys; print(sys.version.split()[0])'; }

venv_stamp() { echo "$MOTO_SPEC $AZURE_BLOB_SPEC python=$1"; }
azurite_stamp() { echo "azurite@$AZURITE_VERSION"; }

venv_ok() { [[ -x "$VENV/bin/moto_server" && "$(cat "$VENV/.tally-installed" 2>/dev/null)" == "$(venv_stamp "$1")" ]]; }
azurite_ok() { [[ -f "$AZURITE_MAIN" && "$(cat "$AZURITE_DIR/.tally-installed" 2>/dev/null)" == "$(azurite_stamp)" ]]; }

install_venv() {
    local pyver="$1"
    log "installing $MOTO_SPEC $AZURE_BLOB_SPEC into $VENV (python $pyver; log: $INSTALL_LOG)"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV" >>"$INSTALL_LOG" 2>&1 ||
        die_log "$INSTALL_LOG" "'$PYTHON -m venv $VENV' failed"
    "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input --quiet \
        "$MOTO_SPEC" "$AZURE_BLOB_SPEC" >>"$INSTALL_LOG" 2>&1 ||
        die_log "$INSTALL_LOG" "pip could not install $MOTO_SPEC $AZURE_BLOB_SPEC"
    "$VENV/bin/python" -c 'import moto.server, azure.storage.blob' >>"$INSTALL_LOG" 2>&1 ||
        die_log "$INSTALL_LOG" "moto / azure-storage-blob installed but do not import"
    venv_stamp "$pyver" >"$VENV/.tally-installed.tmp" && mv "$VENV/.tally-installed.tmp" "$VENV/.tally-installed"
}

install_azurite() {
    command -v node >/dev/null 2>&1 || die "node is not installed (azurite needs node >= 20)"
    command -v npm >/dev/null 2>&1 || die "npm is not installed"
    log "installing azurite@$AZURITE_VERSION into $AZURITE_DIR (log: $INSTALL_LOG)"
    rm -rf "$AZURITE_DIR"
    mkdir -p "$AZURITE_DIR" || die "cannot create $AZURITE_DIR"
    echo '{"name":"tally-test-tools-azurite","private":true}' >"$AZURITE_DIR/package.json"
    npm install --prefix "$AZURITE_DIR" --no-audit --no-fund --omit=dev --loglevel=error \
        "azurite@$AZURITE_VERSION" >>"$INSTALL_LOG" 2>&1 ||
        die_log "$INSTALL_LOG" "npm could not install azurite@$AZURITE_VERSION"
    [[ -f "$AZURITE_MAIN" ]] || die "azurite installed but $AZURITE_MAIN is missing"
    azurite_stamp >"$AZURITE_DIR/.tally-installed.tmp" && mv "$AZURITE_DIR/.tally-installed.tmp" "$AZURITE_DIR/.tally-installed"
}

cmd_install() {
    command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON is not installed"
    local pyver
    pyver="$(python_version)" || die "cannot run $PYTHON"
    # Fast path: both markers match, no lock needed.
    if venv_ok "$pyver" && azurite_ok; then
        return 0
    fi
    mkdir -p "$TOOLS" || die "cannot create $TOOLS"
    command -v flock >/dev/null 2>&1 || die "flock is not installed (util-linux)"
    # The lock fd lives only in this subshell, so servers started later never inherit it.
    # (Not tested with ||: a failing subshell exits the script through set -e after it printed its reason.)
    (
        if ! flock -n 9; then
            log "waiting for another process' install to finish ($TOOLS/.install.lock)"
            flock -w "$LOCK_TIMEOUT" 9 || die "timed out after ${LOCK_TIMEOUT}s waiting for $TOOLS/.install.lock"
        fi
        if ! venv_ok "$pyver"; then install_venv "$pyver"; fi
        if ! azurite_ok; then install_azurite; fi
    ) 9>"$TOOLS/.install.lock"
}

# ---- start / stop ----------------------------------------------------------------------------
# Two distinct free loopback ports (both sockets are open at once so they differ).
free_ports() {
    "$PYTHON" -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))
for x in s: x.close()'
}

alive() { kill -0 "$1" 2>/dev/null; }

# Is PID one of ours (guards against a recycled PID)?
ours() {
    local cmdline
    cmdline="$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null)" || return 1
    [[ "$cmdline" == *moto_server* || "$cmdline" == *azurite* ]]
}

# Start a server in its own session/process group, detached from our stdin/stdout/stderr.
# (If it inherited stdout, a caller reading our stdout to EOF would hang.)
launch() {
    local logfile="$1"
    shift
    setsid "$@" </dev/null >"$logfile" 2>&1 9>&- &
    echo $!
}

launch_moto() { launch "$DIR/moto.log" "$VENV/bin/moto_server" -H 127.0.0.1 -p "$1"; }
launch_azurite() {
    launch "$DIR/azurite.log" node "$AZURITE_MAIN" \
        --blobHost 127.0.0.1 --blobPort "$1" --location "$DIR/azurite" \
        --skipApiVersionCheck --silent --disableTelemetry
}

# Does URL answer with a response header matching the (case-insensitive) regex?
# The header identifies the server, so a foreign program that grabbed the port does not count.
answers() {
    local headers
    headers="$(curl --noproxy '*' -s -o /dev/null -D - --max-time 2 "$1" 2>/dev/null)" || true
    grep -qiE "$2" <<<"$headers"
}

# wait_ready NAME PID URL HEADER_REGEX LOGFILE
#   -> 0 ready, 1 died of a port clash (caller retries), exits with a reason otherwise
wait_ready() {
    local name="$1" pid="$2" url="$3" header="$4" logfile="$5" deadline
    deadline=$(($(now) + READY_TIMEOUT))
    while :; do
        if answers "$url" "$header" && alive "$pid"; then
            return 0
        fi
        if ! alive "$pid"; then
            if grep -qiE 'EADDRINUSE|address already in use' "$logfile" 2>/dev/null; then
                return 1
            fi
            die_log "$logfile" "$name exited before answering on $url (log: $logfile)"
        fi
        if (($(now) >= deadline)); then
            die_log "$logfile" "$name did not answer on $url within ${READY_TIMEOUT}s (log: $logfile)"
        fi
        sleep 0.2
    done
}

S3_PORT=""
AZ_PORT=""

start_servers() {
    local attempt moto_pid az_pid ports
    for attempt in 1 2 3; do
        ports="$(free_ports)" || die "cannot pick free loopback ports with $PYTHON"
        read -r S3_PORT AZ_PORT <<<"$ports"
        moto_pid="$(launch_moto "$S3_PORT")"
        echo "$moto_pid" >>"$DIR/pids"
        az_pid="$(launch_azurite "$AZ_PORT")"
        echo "$az_pid" >>"$DIR/pids"
        log "started moto_server pid $moto_pid on 127.0.0.1:$S3_PORT, azurite-blob pid $az_pid on 127.0.0.1:$AZ_PORT (attempt $attempt)"
        if wait_ready moto_server "$moto_pid" "http://127.0.0.1:$S3_PORT/" '^x-amzn-requestid:' "$DIR/moto.log" &&
            wait_ready azurite-blob "$az_pid" "http://127.0.0.1:$AZ_PORT/$AZ_ACCOUNT?comp=list" \
                '^server: azurite-blob' "$DIR/azurite.log"; then
            return 0
        fi
        log "port clash; retrying with new ports"
        stop_pids
    done
    die "could not start the servers on free ports after 3 attempts (logs in $DIR)"
}

create_bucket() {
    local code
    # Signed like a real client (moto answers unsigned object reads with 403).
    code="$(curl --noproxy '*' -s -o "$DIR/create-bucket.out" -w '%{http_code}' --max-time 10 \
        --aws-sigv4 'aws:amz:us-east-1:s3' --user 'testing:testing' \
        -X PUT "http://127.0.0.1:$S3_PORT/$BUCKET" 2>/dev/null || true)"
    [[ "$code" == 200 ]] || die_log "$DIR/create-bucket.out" "creating S3 bucket $BUCKET on moto failed (HTTP $code)"
}

create_container() {
    AZ_PORT="$AZ_PORT" AZ_ACCOUNT="$AZ_ACCOUNT" AZ_KEY="$AZ_KEY" CONTAINER="$CONTAINER" \
        "$VENV/bin/python" - >"$DIR/create-container.out" 2>&1 <<'PY' ||
import os
from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobServiceClient

port, account, key = os.environ["AZ_PORT"], os.environ["AZ_ACCOUNT"], os.environ["AZ_KEY"]
conn = (
    f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={key};"
    f"BlobEndpoint=http://127.0.0.1:{port}/{account};"
)
svc = BlobServiceClient.from_connection_string(conn, retry_total=2)
try:
    svc.create_container(os.environ["CONTAINER"])
except ResourceExistsError:
    pass
PY
        die_log "$DIR/create-container.out" "creating Azure container $CONTAINER on azurite failed"
}

# Kill every PID listed in $DIR/pids (and its process group), ignoring dead ones.
stop_pids() {
    local pidfile="$DIR/pids" pid live=() deadline
    [[ -f "$pidfile" ]] || return 0
    while read -r pid; do
        [[ "$pid" =~ ^[0-9]+$ ]] || continue
        if alive "$pid" && ours "$pid"; then
            live+=("$pid")
            # setsid made each server a process-group leader: the group holds its children.
            kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        fi
    done <"$pidfile"
    deadline=$(($(now) + 10))
    for pid in "${live[@]+"${live[@]}"}"; do
        while alive "$pid" && (($(now) < deadline)); do sleep 0.1; done
        if alive "$pid"; then
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    for pid in "${live[@]+"${live[@]}"}"; do
        while alive "$pid" && (($(now) < deadline + 5)); do sleep 0.1; done
    done
    rm -f "$pidfile"
}

set_dir() {
    [[ -n "${1:-}" ]] || die "usage: $ME start DIR"
    mkdir -p "$1" || die "cannot create $1"
    DIR="$(cd "$1" && pwd)"
}

cmd_start() {
    set_dir "${1:-}"
    command -v curl >/dev/null 2>&1 || die "curl is not installed"
    command -v setsid >/dev/null 2>&1 || die "setsid is not installed (util-linux)"
    cmd_install
    mkdir -p "$DIR/azurite" || die "cannot create $DIR/azurite"
    if [[ -s "$DIR/pids" ]]; then
        log "stopping servers left over in $DIR"
        stop_pids
    fi
    # Anything failing (or a kill of this script) from here on must not leave servers running.
    trap 'rc=$?; if ((rc != 0)); then stop_pids; fi' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    start_servers
    create_bucket
    create_container
    trap - EXIT INT TERM
    log "ready: S3 (moto) http://127.0.0.1:$S3_PORT bucket $BUCKET; Azure (azurite) http://127.0.0.1:$AZ_PORT container $CONTAINER"
    cat <<EOF
TALLY_TEST_S3_BUCKET=$BUCKET
AWS_ENDPOINT_URL=http://127.0.0.1:$S3_PORT
AWS_ALLOW_HTTP=true
AWS_ACCESS_KEY_ID=testing
AWS_SECRET_ACCESS_KEY=testing
AWS_REGION=us-east-1
AWS_VIRTUAL_HOSTED_STYLE_REQUEST=false
TALLY_TEST_AZURE_CONTAINER=$CONTAINER
AZURE_STORAGE_ACCOUNT_NAME=$AZ_ACCOUNT
AZURE_STORAGE_ACCOUNT_KEY=$AZ_KEY
AZURE_STORAGE_USE_EMULATOR=true
AZURITE_BLOB_STORAGE_URL=http://127.0.0.1:$AZ_PORT
EOF
}

cmd_stop() {
    [[ -n "${1:-}" ]] || die "usage: $ME stop DIR"
    [[ -d "$1" ]] || return 0
    DIR="$(cd "$1" && pwd)"
    stop_pids
}

case "${1:-}" in
install) cmd_install ;;
start) cmd_start "${2:-}" ;;
stop) cmd_stop "${2:-}" ;;
*) die "usage: $ME install | start DIR | stop DIR" ;;
esac
