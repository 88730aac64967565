import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from fedrec.cli import main
from fedrec.deploy.certs import generate


def test_server_certificate_is_signed_by_the_ca_for_the_given_hosts(tmp_path):
    # Execute
    certs = generate(tmp_path, ("edge.example", "10.1.2.3"), nodes=2)
    # Assert
    ca = x509.load_pem_x509_certificate(certs.ca_cert.read_bytes())
    server = x509.load_pem_x509_certificate(certs.server_cert.read_bytes())
    server.verify_directly_issued_by(ca)
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["edge.example"]
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.1.2.3")]
    key = serialization.load_pem_private_key(certs.server_key.read_bytes(), None)
    assert key.public_key() == server.public_key()
    assert certs.server_key.stat().st_mode & 0o077 == 0


def test_node_keys_are_openssh_ecdsa_pairs_as_flower_reads_them(tmp_path):
    certs = generate(tmp_path, nodes=2)
    assert len(certs.node_keys) == 2
    for private_path, public_path in certs.node_keys:
        private = serialization.load_ssh_private_key(private_path.read_bytes(), None)
        public = serialization.load_ssh_public_key(public_path.read_bytes())
        assert isinstance(private, ec.EllipticCurvePrivateKey)
        assert private.public_key() == public


def test_cli_writes_the_files(tmp_path, capsys):
    assert main(["certs", str(tmp_path), "--nodes", "1"]) == 0
    assert {p.name for p in tmp_path.iterdir()} == {
        "ca.crt", "server.pem", "server.key", "node-1.key", "node-1.pub"
    }  # fmt: skip
    assert "node-1.pub" in capsys.readouterr().out
