"""endorse.client: the endorser's and verifier's side of endorse, on top of endorse.protocol.

:mod:`endorse.client.keystore` keeps private keys in PKCS#8 PEM files (mode 0600, never
overwritten); :mod:`endorse.client.cli` is the offline ``endorse`` command.
"""

from endorse.client.keystore import default_key_path, load_key, write_key

__all__ = ["default_key_path", "load_key", "write_key"]
