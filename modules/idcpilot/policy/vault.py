"""Vault secrets for the gate: the same ``--vault-id`` / ``--vault-password-file`` that ``deploy``
gives ansible-playbook, opened with Ansible's own code (so labels, scripts and the configured
default password file behave exactly as in the deploy), and decryption with Ansible's VaultLib.

The gate never guesses: a vault it cannot open is an error naming the file (exit 2), and
decrypted text lives only in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from idcpilot.errors import UserInputError

VAULT_HEADER = "$ANSIBLE_VAULT;"


@dataclass(frozen=True)
class VaultOptions:
    """What the operator gave: ``--vault-id [label@]file-or-script`` and ``--vault-password-file``."""

    vault_ids: tuple[str, ...] = ()
    password_files: tuple[str, ...] = ()


class Vault:
    """Decrypts vault text with the configured secrets, loaded on first use."""

    def __init__(self, options: VaultOptions | None = None):
        self.options = options or VaultOptions()
        self._lib: Any = None
        self._loaded = False

    def check_options(self) -> None:
        """Open the secrets now when any were given: a missing password file or a prompt is bad
        input (exit 2) whether or not a vault is met later."""
        if self.options.vault_ids or self.options.password_files:
            self._load("--vault-id" if self.options.vault_ids else "--vault-password-file")

    def _load(self, where: str) -> Any:
        if self._loaded:
            return self._lib
        self._loaded = True
        for vid in self.options.vault_ids:
            if vid.split("@", 1)[-1] in ("prompt", "prompt_ask_vault_pass"):
                raise UserInputError.single("--vault-id", f"{vid}: the gate cannot prompt; give a password file or script")
        from ansible.cli import CLI
        from ansible.errors import AnsibleError
        from ansible.parsing.dataloader import DataLoader
        from ansible.parsing.vault import VaultLib

        try:
            secrets = CLI.setup_vault_secrets(DataLoader(), list(self.options.vault_ids), list(self.options.password_files),
                                              ask_vault_pass=False, auto_prompt=False, initialize_context=False)
        except AnsibleError as exc:
            raise UserInputError.single(where, f"cannot load the vault secret: {_first_line(exc)}") from None
        self._lib = VaultLib(secrets) if secrets else None
        return self._lib

    def decrypt(self, text: str, where: str, line: int = 1, name: str = "") -> str:
        """Plain text of one vault payload; UserInputError naming the file, line and variable when it cannot be opened."""
        lib = self._load(where)
        if lib is None:
            raise UserInputError.single(
                where, line=line, field=name, message="ansible-vault encrypted and no vault secret was given: the gate cannot see these variables "
                       "(give check/deploy --vault-id or --vault-password-file)")
        from ansible.errors import AnsibleError

        try:
            plain = lib.decrypt(text.strip())
        except AnsibleError as exc:
            raise UserInputError.single(where, f"cannot decrypt with the vault secret given: {_first_line(exc)}", name, line) from None
        except Exception as exc:  # malformed envelopes raise plain ValueError / binascii errors
            raise UserInputError.single(where, f"not a readable vault payload ({type(exc).__name__})", name, line) from None
        try:
            return plain.decode("utf-8")
        except UnicodeDecodeError:
            raise UserInputError.single(where, "the decrypted vault is not UTF-8 text", name, line) from None


def _first_line(exc: Exception) -> str:
    text = str(getattr(exc, "message", "") or exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def is_vault_text(text: str) -> bool:
    return text.lstrip().startswith(VAULT_HEADER)
