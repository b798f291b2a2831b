# shellcheck shell=bash
# The email tests' SMTP server (tests/smtp_recorder.py) runs on aiosmtpd. It comes from PyPI into
# a virtualenv under target/ (created once, never committed); `ensure_aiosmtpd` exports its
# Python as LEDGERLINE_TEST_PYTHON, which tests/tests/email.rs runs the recorder with.

# shellcheck source=scripts/venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"

ensure_aiosmtpd() {
  local target venv
  target="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
  venv="$target/smtp-venv"
  if ! "$venv/bin/python" -c "import aiosmtpd" 2>/dev/null; then
    install_into_venv "$venv" "$(dirname "${BASH_SOURCE[0]}")/requirements/smtp.txt"
  fi
  export LEDGERLINE_TEST_PYTHON="$venv/bin/python"
}
