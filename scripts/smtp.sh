# shellcheck shell=bash
# The email tests' SMTP server (tests/smtp_recorder.py) runs on aiosmtpd. It comes from PyPI into
# a virtualenv under target/ (created once, never committed); `ensure_aiosmtpd` exports its
# Python as LEDGERLINE_TEST_PYTHON, which tests/tests/email.rs runs the recorder with.

AIOSMTPD_VERSION=1.4.6

ensure_aiosmtpd() {
  local target venv
  target="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
  venv="$target/smtp-venv"
  if ! "$venv/bin/python" -c "import aiosmtpd" 2>/dev/null; then
    echo "==> installing aiosmtpd $AIOSMTPD_VERSION into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "aiosmtpd==$AIOSMTPD_VERSION"
  fi
  export LEDGERLINE_TEST_PYTHON="$venv/bin/python"
}
