# shellcheck shell=bash
# Python tools the tests need come from PyPI into virtualenvs under target/ (created once, never
# committed). `install_into_venv VENV REQUIREMENT` creates VENV and installs REQUIREMENT there,
# trying three times with a pause between (PyPI and mirrors fail now and then); it says what it
# is doing, since it takes a while on a fresh machine.

install_into_venv() {
  local venv="$1" requirement="$2" attempt
  echo "==> installing $requirement into $venv (from PyPI)"
  python3 -m venv "$venv"
  for attempt in 1 2 3; do
    if "$venv/bin/pip" install --quiet --disable-pip-version-check "$requirement"; then
      return 0
    fi
    echo "    pip failed (attempt $attempt of 3)" >&2
    [ "$attempt" = 3 ] || sleep $((attempt * 10))
  done
  echo "cannot install $requirement: is PyPI reachable, and Python's venv module installed?" >&2
  return 1
}
