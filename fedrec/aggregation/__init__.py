"""Aggregation maths on sparse per-user row updates, independent of Flower.

``codec`` encodes matrices and updates for the wire, ``updates`` holds a round's per-user
updates, ``rules`` the robust and per-row rules over them, ``optimisers`` the server optimisers on
the pseudo-gradient, and ``prox`` the L1 proximal step that makes C sparse.
"""
