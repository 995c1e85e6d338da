# integration-tests/lib/ports.sh: loopback ports, for the scenarios (common.sh) and the benchmark
# (bench/run.sh). Needs $PY, a python3.

# free_port: a TCP (and UDP) port on 127.0.0.1 that nothing listens on now.
free_port() {
  $PY - <<'PYEOF'
import socket
for _ in range(50):
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p))
    except OSError:
        t.close(); continue
    u.close(); t.close(); print(p); break
PYEOF
}

# wait_tcp PORT SECONDS [PID]: until something accepts on 127.0.0.1:PORT; false if PID died.
wait_tcp() {
  local port=$1 secs=$2 pid=${3:-} i
  for ((i = 0; i < secs * 10; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    sleep 0.1
  done
  return 1
}
