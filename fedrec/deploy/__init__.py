"""fedrec on real devices: one user per Flower SuperNode, private state in a local folder.

* :mod:`~fedrec.deploy.userfile`: the user's interaction file and its leave-one-out split;
* :mod:`~fedrec.deploy.state`: durable, checksummed device state (D, head, last global C);
* :mod:`~fedrec.deploy.device`: FedRAP's local round and evaluation for that one user;
* :mod:`~fedrec.deploy.recommend`: top-k unseen items from the state alone;
* :mod:`~fedrec.deploy.certs`: TLS certificates and SuperNode keys;
* :mod:`~fedrec.deploy.export`: per-user files cut from a dataset, to stage a deployment.
"""
