#!/usr/bin/env bash
# Scenario 12, the crash test in passthrough mode: the same kill -9 mid-stream as scenario 8.
# In passthrough a 250 is given only after the upstream said 250, so every message answered
# 250 must already be at the sink, and none may be lost across the restart.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$IT_LIB/crash.sh"
it_init 12-passthrough-crash
start_dns
start_sink
crash_test 'returnpath.queue.mode = passthrough' relayed passthrough
pass
