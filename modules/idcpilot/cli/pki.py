"""``idcpilot pki``: the estate CA on the operator side (idcpilot.pki.store).

Owners make their keys; the CA signs their requests with names and lifetimes of its own
choosing (the catalogue's, thresholds' ``pki``). The deploy signs hosts' requests (a gateway's,
a node exporter's) through ``sign-host``; an operator enrols, renews and revokes identities and re-signs the CRL.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import typer

from idcpilot import catalogue
from idcpilot.cli.common import EXIT_FAIL, EnvArg, Format, FormatOpt, fail_input, print_json, user_errors
from idcpilot.errors import excerpt
from idcpilot.pki import ca as pki
from idcpilot.pki.store import CA, open_ca

app = typer.Typer(help="The estate CA (operator side): enrol, renew and revoke certificates; re-sign the CRL.", no_args_is_help=True)

#: A certificate request is a few hundred bytes; anything this size is not one.
CSR_MAX_BYTES = 64 * 1024


@contextmanager
def _refusals(what: str = "") -> Iterator[None]:
    """The CA's refusals are the user's input or set-up: exit 2 with the reason, no traceback."""
    with user_errors():
        try:
            yield
        except pki.PkiError as exc:
            raise fail_input(f"{what}{': ' if what else ''}{exc}") from None


def _open(env: Path) -> tuple[catalogue.Catalogue, CA]:
    with user_errors():
        cat = catalogue.load(env)
    return cat, open_ca(cat.name)


def _read_csr(path: Path) -> bytes:
    try:
        if str(path) == "-":
            data = sys.stdin.buffer.read(CSR_MAX_BYTES + 1)
        else:
            with path.open("rb") as f:
                data = f.read(CSR_MAX_BYTES + 1)
    except OSError as exc:
        raise fail_input(f"{path}: {exc.strerror}") from None
    if len(data) > CSR_MAX_BYTES:
        raise fail_input(f"{path}: larger than {CSR_MAX_BYTES} bytes; not a certificate request")
    return data


def _free(out: Path | None) -> None:
    """Refuse an --out that exists before anything is signed (nothing a user has is overwritten)."""
    if out is not None and (out.exists() or out.is_symlink()):
        raise fail_input(f"{out}: exists; idcpilot does not overwrite a file you have (choose another name)")


def _write(out: Path | None, text: str) -> None:
    if out is None:
        sys.stdout.write(text)
        return
    _free(out)
    try:
        with out.open("x") as f:  # exclusive: never through a file or link made meanwhile
            f.write(text)
    except FileExistsError:
        raise fail_input(f"{out}: appeared meanwhile; idcpilot does not overwrite it (the certificate is in the CA's certs/)") from None


@app.command()
def init(env: Path = EnvArg) -> None:
    """Create the estate CA (key encrypted with $IDCPILOT_PKI_PASSPHRASE_FILE's passphrase)."""
    cat, ca = _open(env)
    with _refusals():
        ca.init(cat.name)
    typer.echo(f"created the estate CA of {cat.name} in {ca.dir}")


@app.command()
def sign(
    env: Path = EnvArg,
    identity: str = typer.Option(..., "--identity", help="a catalogue identity (spec.identities)"),
    csr: Path = typer.Option(..., "--csr", help="the owner's certificate request (PEM; - reads stdin)"),
    out: Path = typer.Option(None, "--out", help="write the certificate here (a new file) instead of stdout"),
) -> None:
    """Enrol an identity: sign its owner's request. Subject (/O=estate/OU=group.../CN=identity)
    and lifetime (pki.clientDays) come from the catalogue and thresholds, never from the request."""
    cat, ca = _open(env)
    _free(out)
    known = {i.name: i for i in cat.estate.spec.identities}
    if identity not in known:
        raise fail_input(f"{cat.file}: spec.identities: no identity {excerpt(identity)}")
    data = _read_csr(csr)
    with _refusals(str(csr)):
        signed = ca.sign_client(pki.public_key_of_csr(data), estate=cat.name, identity=identity, groups=list(known[identity].groups))
    _write(out, signed.certificate)
    typer.echo(f"signed {identity}: serial {signed.serial:x}", err=True)


@app.command()
def renew(
    env: Path = EnvArg,
    identity: str = typer.Option(None, "--identity", help="renew this identity's newest certificate (same key)"),
    due: bool = typer.Option(False, "--due", help="renew every client certificate ending within a third of pki.clientDays"),
    out: Path = typer.Option(None, "--out", help="with --identity: write the certificate here (a new file)"),
) -> None:
    """Renew client certificates for the keys they already certify (the owner keeps the key)."""
    cat, ca = _open(env)
    if (identity is None) == (not due):
        raise fail_input("give --identity NAME or --due (one of them)")
    _free(out)
    known = {i.name: list(i.groups) for i in cat.estate.spec.identities}  # the subject is the catalogue's now
    if identity is not None and identity not in known:
        raise fail_input(f"{cat.file}: spec.identities: no identity {excerpt(identity)}")
    with _refusals():
        if identity is not None:
            signed = ca.renew_client(identity, estate=cat.name, groups=known[identity])
            _write(out, signed.certificate)
            typer.echo(f"renewed {identity}: serial {signed.serial:x}", err=True)
            return
        names = sorted({r.name for r in ca.expiring() if r.kind == "client"})
        for name in [n for n in names if n not in known]:
            typer.echo(f"not renewed: {name} is no longer in spec.identities ({cat.file})")
        names = [n for n in names if n in known]
        for name in names:
            signed = ca.renew_client(name, estate=cat.name, groups=known[name])
            typer.echo(f"renewed {name}: serial {signed.serial:x}; certificate in {ca.dir / 'certs' / f'{signed.serial:x}.pem'}")
        if not names:
            typer.echo("no client certificate is due")


@app.command()
def revoke(
    env: Path = EnvArg,
    serial: list[str] = typer.Option(None, "--serial", help="serial number (hex, as `status` shows it); repeatable"),
    identity: str = typer.Option(None, "--identity", help="every unrevoked certificate of this identity"),
    reason: str = typer.Option("key_compromise", "--reason", help=f"one of {', '.join(sorted(pki.REASONS))}"),
) -> None:
    """Revoke certificates and re-sign the CRL now. Gateways refuse them once they have the new
    CRL: the next deploy, or their CRL timer when a source is set (docs/edge-services.md)."""
    cat, ca = _open(env)
    serials: list[int] = []
    for s in serial or []:
        try:
            serials.append(int(s, 16))
        except ValueError:
            raise fail_input(f"--serial {excerpt(s)}: not a hexadecimal serial number") from None
    if identity is not None:
        serials += [r.serial for r in ca.issued() if r.name == identity and r.kind == "client" and r.revoked_at is None]
    if not serials:
        raise fail_input("nothing to revoke: give --serial or an --identity with unrevoked certificates")
    with _refusals():
        done = ca.revoke(serials, reason)
    for r in done:
        typer.echo(f"revoked {r.serial:x} ({r.kind} {r.name}, {reason})")
    typer.echo(f"CRL re-signed: {ca.dir / 'crl.pem'}")


@app.command()
def crl(
    env: Path = EnvArg,
    force: bool = typer.Option(False, "--force", help="re-sign even when the CRL is not due (pki.crlRenewDays)"),
    out: Path = typer.Option(None, "--out", help="also write the CRL here (a new file), to publish it"),
) -> None:
    """Re-sign the CRL when it ends within pki.crlRenewDays (or with --force)."""
    _, ca = _open(env)
    _free(out)
    with _refusals():
        changed = ca.refresh_crl(force=force)
        text = ca.crl_pem()
        nxt = ca.crl().next_update_utc
    typer.echo(f"{'re-signed' if changed else 'current'}: {ca.dir / 'crl.pem'}, valid until {nxt:%Y-%m-%d %H:%M}Z")
    if out is not None:
        _write(out, text)


@app.command(name="ca")
def ca_cert(env: Path = EnvArg) -> None:
    """Print the CA certificate (what clients and upstreams trust)."""
    _, ca = _open(env)
    with _refusals():
        sys.stdout.write(ca.ca_pem())


@app.command()
def status(env: Path = EnvArg, fmt: Format = FormatOpt) -> None:
    """The CA, its CRL and the current certificates; exit 1 when the CRL is due or the key unencrypted."""
    _, ca = _open(env)
    with _refusals():
        st = ca.status()
    if fmt is Format.json:
        print_json(st)
    else:
        typer.echo(f"estate CA {st['caSubject']} in {st['directory']}{' (lab CA: passphrase kept beside the key)' if st['lab'] else ''}")
        typer.echo(f"  CA valid until {st['caNotAfter']}; key {'encrypted' if st['keyEncrypted'] else 'NOT ENCRYPTED'}")
        typer.echo(f"  CRL valid until {st['crlNextUpdate']}{' (due: run `idcpilot pki crl`)' if st['crlDue'] else ''}; "
                   f"{st['crlRevoked']} revoked listed")
        for r in st["current"]:
            flag = "  renew soon" if r["serial"] in st["expiringSoon"] else ""
            typer.echo(f"  {r['kind']:7} {r['name']:24} {r['serial']:>40}  until {r['notAfter']}{flag}")
    if st["crlDue"] or not st["keyEncrypted"]:
        raise typer.Exit(EXIT_FAIL)


#: The services a host's play asks certificates for (roles/estate_certificate): the catalogue role
#: the host must have for each.
SERVER_SERVICES = {"gateway": "zt_gateway", "node-exporter": "monitoring"}


@app.command(name="sign-host")
def sign_host(
    env: Path = EnvArg,
    host: str = typer.Option(..., "--host"),
    service: str = typer.Option("gateway", "--service", help=f"one of: {', '.join(SERVER_SERVICES)}"),
    csr: Path = typer.Option(Path("-"), "--csr"),
    check: bool = typer.Option(False, "--check", help="report what would change; sign nothing"),
) -> None:
    """Sign a host's server certificate request for one of its services (what the deploy's play runs
    on this machine): names and addresses from the catalogue, CRL re-signed when due; JSON with
    certificate, CA, CRL."""
    from idcpilot import ipam
    from idcpilot.edge_services.gateway import gateway_of

    cat, ca = _open(env)
    if host not in cat.hosts:
        raise fail_input(f"{cat.file}: no host {excerpt(host)} in the estate")
    if service not in SERVER_SERVICES:
        raise fail_input(f"--service {excerpt(service)}: not one of {', '.join(SERVER_SERVICES)}")
    if not cat.hosts[host].has(SERVER_SERVICES[service]):
        raise fail_input(f"{cat.file}: host {excerpt(host)} does not have the role {SERVER_SERVICES[service]} ({service} certificate)")
    subject_service = service
    if service == "gateway":
        gateway = gateway_of(cat, cat.hosts[host])
        if gateway is None:
            raise fail_input(f"{cat.file}: host {excerpt(host)} is in no gateway (spec.gateways)")
        subject_service = gateway.name
    with user_errors():
        addresses = sorted(set(ipam.plan(cat).host(host).values()))
    data = _read_csr(csr)
    with _refusals(host):
        ca.require()
        signed = ca.sign_server(data, estate=cat.name, service=subject_service, host=host, names=[host], addresses=addresses,
                                dry_run=check)
        crl_changed = ca.refresh_crl(dry_run=check)
        print_json({"changed": signed.changed or crl_changed, "certificate": signed.certificate, "ca": ca.ca_pem(), "crl": ca.crl_pem()})


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="pki")
