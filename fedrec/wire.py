"""Names of everything that crosses the wire between ServerApp and ClientApp, in one place.

Only what is listed here may appear in a message; tests check that no client-private tensor
(D, the score head) is ever put into a server-bound reply.
"""

from __future__ import annotations

# Record names inside a Message's RecordDict.
ARRAYS = "arrays"
CONFIG = "config"
METRICS = "metrics"

# Server -> client: the algorithm's global arrays under their own names, and a config.
SERVER_ROUND = "server-round"
STATE_DIR = "state-dir"
# What the strategy asks of training (see fedrec.algorithms.base.TrainOptions).
PER_USER = "per-user"
UPLOAD_THRESHOLD = "upload-threshold"
UPLOAD_DENSITY = "upload-density"
PROXIMAL_MU = "proximal-mu"
# Client-level DP in local mode: every client clips its update to this norm and adds this noise.
DP_CLIP_NORM = "dp-clip-norm"
DP_NOISE_STD = "dp-noise-std"
# The server records this round's per-user uploads (fedrec audit): nodes add their users' ids.
RECORD_UPLOADS = "record-uploads"
# Global 2-D arrays travel encoded by fedrec.aggregation.codec.encode_arrays, dense or sparse
# ("<name>.values", "<name>.rows", "<name>.mask", "<name>.shape"), whichever is smaller.

# Client -> server, training: for every global array x, "sum:x" = Σ_u w_u x_u over the node's
# participating users, and the weight Σ_u w_u. Nothing else may be in the arrays record.
SUM_PREFIX = "sum:"
WEIGHT_SUM = "weight-sum"
NUM_USERS = "num-users"
NUM_EXAMPLES = "num-examples"
NUM_DROPPED = "num-dropped"
LOSS_SUM = "loss-sum"
EPOCHS_SUM = "epochs-sum"
TRAIN_SECONDS = "train-seconds"
# Σ over the node's participants of the bytes of each one's own upload message.
UPLOAD_BYTES = "upload-bytes"
# Client -> server, training in per-user mode (robust strategies): instead of "sum:x", the
# participants' sparse updates of the 2-D global array x as "updates:x.<part>" (the ragged form
# of fedrec.aggregation.updates: offsets, rows, scales, weights, values and maybe mask).
UPDATES_PREFIX = "updates:"
# With record-uploads, the users' ids as one more part of the ragged form: "updates:x.users".
USER_IDS = "users"

# Client -> server, evaluation (per-user ranks; metrics are computed on the server).
USERS = "users"

RANK_KEYS = ("val_sampled", "test_sampled", "val_full", "test_full")  # per-user ranks
TARGET_RANK = "target_full"  # per-user rank of an attack's target item, under attack settings
EVALUATE_REPLY_ARRAYS = frozenset({USERS, *RANK_KEYS})


def scalar(value: object) -> float:
    """Return a record value as a float, refusing lists and other non-scalars."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a scalar in the message, got {type(value).__name__}")
    return float(value)
