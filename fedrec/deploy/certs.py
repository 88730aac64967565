"""Key material for a secured federation: a local CA, a SuperLink certificate, SuperNode keys.

Flower's SuperLink serves TLS with a certificate signed by a CA that SuperNodes and the ``flwr``
CLI trust (``--root-certificates``, ``root-certificates``); SuperNodes authenticate with ECDSA
keys in OpenSSH format, whose public halves are registered with ``flwr supernode register``.
Everything is generated with the ``cryptography`` package, a dependency of Flower, so no
``openssl`` binary is needed.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_HOSTS = ("localhost", "127.0.0.1")
_VALID_DAYS = 365


@dataclass(frozen=True)
class Certificates:
    """Paths of what :func:`generate` wrote."""

    ca_cert: Path
    server_cert: Path
    server_key: Path
    node_keys: tuple[tuple[Path, Path], ...]  # (private, public) per SuperNode


def generate(folder: Path, hosts: tuple[str, ...] = DEFAULT_HOSTS, nodes: int = 1) -> Certificates:
    """Write a CA, a SuperLink certificate for ``hosts`` and ``nodes`` SuperNode key pairs.

    Parameters
    ----------
    folder : Path
        Output folder (created if missing). Existing files are overwritten.
    hosts : tuple of str
        DNS names and IP addresses the SuperLink is reached at (the certificate's SANs).
    nodes : int
        Number of SuperNode key pairs (``node-1.key``/``node-1.pub``, ...).

    Returns
    -------
    Certificates
        The paths written: ``ca.crt``, ``server.pem``, ``server.key`` and the node keys.
    """
    if not hosts:
        raise ValueError("at least one host name or address is needed for the certificate")
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP384R1())
    ca_cert = _ca_certificate(ca_key)
    server_key = ec.generate_private_key(ec.SECP384R1())
    server_cert = _server_certificate(server_key, ca_key, ca_cert, hosts)
    out = Certificates(folder / "ca.crt", folder / "server.pem", folder / "server.key", ())
    _write(out.ca_cert, ca_cert.public_bytes(serialization.Encoding.PEM))
    _write(out.server_cert, server_cert.public_bytes(serialization.Encoding.PEM))
    _write(out.server_key, _pem_private(server_key), private=True)
    pairs = tuple(node_key_pair(folder, f"node-{i}") for i in range(1, nodes + 1))
    return Certificates(out.ca_cert, out.server_cert, out.server_key, pairs)


def node_key_pair(folder: Path, name: str) -> tuple[Path, Path]:
    """Write one SuperNode's ECDSA (P-384) key pair in OpenSSH format; return (private, public)."""
    key = ec.generate_private_key(ec.SECP384R1())
    private, public = folder / f"{name}.key", folder / f"{name}.pub"
    ssh_private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    ssh_public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    _write(private, ssh_private, private=True)
    _write(public, ssh_public + b"\n")
    return private, public


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _validity(builder: x509.CertificateBuilder) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return builder.not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(
        now + dt.timedelta(days=_VALID_DAYS)
    )


def _ca_certificate(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name("fedrec local CA"))
        .issuer_name(_name("fedrec local CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
    )
    return _validity(builder).sign(key, hashes.SHA256())


def _server_certificate(
    key: ec.EllipticCurvePrivateKey,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    hosts: tuple[str, ...],
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(hosts[0]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.SubjectAlternativeName(_sans(hosts)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    )
    return _validity(builder).sign(ca_key, hashes.SHA256())


def _sans(hosts: tuple[str, ...]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def _key_usage(cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=not cert_sign,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _pem_private(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes, private: bool = False) -> None:
    path.write_bytes(data)
    if private:  # keys readable by their owner only, as ssh and TLS servers expect
        os.chmod(path, 0o600)
