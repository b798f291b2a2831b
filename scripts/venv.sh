# shellcheck shell=bash
# Python tools the tests need come from PyPI into virtualenvs under target/ (created once, never
# committed). `install_into_venv VENV REQUIREMENTS` creates VENV and installs the requirements
# file REQUIREMENTS there (scripts/requirements/*.txt: every package pinned with its hashes, so
# what is installed is what was reviewed), trying three times with a pause between (PyPI and
# mirrors fail now and then); it says what it is doing, since it takes a while on a fresh machine.

install_into_venv() {
  local venv="$1" requirements="$2" attempt
  echo "==> installing $requirements into $venv (from PyPI, hashes checked)"
  python3 -m venv "$venv"
  for attempt in 1 2 3; do
    if "$venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes \
      -r "$requirements"; then
      return 0
    fi
    echo "    pip failed (attempt $attempt of 3)" >&2
    [ "$attempt" = 3 ] || sleep $((attempt * 10))
  done
  echo "cannot install $requirements: is PyPI reachable, and Python's venv module installed?" >&2
  return 1
}
