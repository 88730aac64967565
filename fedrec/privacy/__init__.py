"""Privacy of what leaves a client: record-level DP-SGD, client-level DP, leakage audits."""
