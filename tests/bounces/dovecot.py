"""A real Dovecot IMAP server for the tests, run from a temporary config (IMAPS only, a
passwd-file with one user, a certificate from a throw-away CA made with trustme)."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import trustme

from digest.loopback import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER = "bounces"
PASSWORD = "imap-test-password"


def _accounts() -> tuple[str, str, int, int]:
    """(login user, internal user, mail uid, mail gid). Dovecot will not run its login and
    mail processes as root: as root, its packaged system users; otherwise, ourselves."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        return me.pw_name, me.pw_name, me.pw_uid, me.pw_gid
    internal = pwd.getpwnam("dovecot")
    pwd.getpwnam("dovenull")
    return "dovenull", "dovecot", internal.pw_uid, internal.pw_gid


class DovecotServer:
    def __init__(self) -> None:
        # Not under pytest's tmp_path: its folders are private to us, and Dovecot's mail
        # processes run as another user when we are root.
        self.root = Path(tempfile.mkdtemp(prefix="digest-dovecot-"))
        self.root.chmod(0o755)
        self.port = free_port()
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_file = self.root / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        cert.private_key_pem.write_to_path(str(self.root / "key.pem"))
        cert.cert_chain_pems[0].write_to_path(str(self.root / "cert.pem"))
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n", encoding="utf-8")
        for name in ("mail", "home"):
            (self.root / name).mkdir()
            (self.root / name).chmod(0o777)
        login, internal, uid, gid = _accounts()
        group = grp.getgrgid(pwd.getpwnam(internal).pw_gid).gr_name
        self.config = self.root / "dovecot.conf"
        self.log = self.root / "dovecot.log"
        r = self.root
        self.config.write_text(
            f"""
base_dir = {r}/run
state_dir = {r}/state
log_path = {self.log}
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{r}/cert.pem
ssl_key = <{r}/key.pem
default_internal_user = {internal}
default_internal_group = {group}
default_login_user = {login}
first_valid_uid = {uid}
first_valid_gid = {gid}
auth_mechanisms = plain
mail_location = maildir:{r}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {r}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={r}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {self.port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
""",
            encoding="utf-8",
        )

    def start(self) -> None:
        # In the foreground (-F): the process is ours to stop, whatever happens to the test.
        self._log = (self.root / "start.log").open("wb")
        self._process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.config)], stdout=self._log, stderr=self._log
        )
        # Dovecot 2.3 tells only systemd when it is ready; until the master has bound its
        # listener a connection is refused, so try until one is accepted (bounded).
        deadline = time.monotonic() + 30
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.log_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=5).close()
                return
            except ConnectionRefusedError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"dovecot did not listen: {self.log_text()}") from None
                time.sleep(0.02)

    def log_text(self) -> str:
        logs = [self.root / "start.log", self.log]
        return " ".join(p.read_text(errors="replace") for p in logs if p.exists())[-2000:]

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=30)
        self._log.close()
        shutil.rmtree(self.root, ignore_errors=True)
