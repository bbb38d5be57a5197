#!/usr/bin/env bash
# Quick start, command 1: install what is missing, build, and run the agent on
# this machine's own cgroups and /proc. Arguments are passed to nodepulse,
# e.g. scripts/run-agent.sh --listen=0.0.0.0:9779 --log-level=debug
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/deps.sh" build
NODEPULSE_TARGETS=nodepulse "$here/scripts/build.sh"
exec "${NODEPULSE_BUILD_DIR:-$here/build}/agent/nodepulse" "$@"
