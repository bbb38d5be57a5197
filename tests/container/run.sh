#!/usr/bin/env bash
# CTest entry of the container suite (tests/container/CMakeLists.txt):
#   run.sh image SOURCE_DIR          build the image (deploy/build-image.sh)
#   run.sh suite SOURCE_DIR [args]   run container_suite.py against it
# NODEPULSE_SKIP_CONTAINER_TESTS=1 skips both (exit 77) with that reason: for
# machines where no container runtime can run at all. Without it, a runtime
# that cannot start fails the suite loudly.
set -euo pipefail
what=$1 source=$2
shift 2
if [[ ${NODEPULSE_SKIP_CONTAINER_TESTS:-0} == 1 ]]; then
  echo "container suite skipped: NODEPULSE_SKIP_CONTAINER_TESTS=1"
  exit 77
fi
image=${NODEPULSE_IMAGE:-localhost/nodepulse:dev}
case $what in
  image) exec "$source/deploy/build-image.sh" "$image" ;;
  suite) exec python3 "$source/tests/container/container_suite.py" --source "$source" --image "$image" "$@" ;;
  *) echo "usage: run.sh image|suite SOURCE_DIR" >&2; exit 2 ;;
esac
