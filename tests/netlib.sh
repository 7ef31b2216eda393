# Shared by the network test scripts (sourced: `. tests/netlib.sh`).

# Retry a command every 0.1 s, at most N times.
retry() {
    retry_n=$1; shift
    while [ "$retry_n" -gt 0 ]; do
        "$@" && return 0
        sleep 0.1
        retry_n=$((retry_n - 1))
    done
    return 1
}

# A loopback port nothing listens on now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
