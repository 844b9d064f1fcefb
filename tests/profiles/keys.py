"""Fixed keys used by the profile tests (the same ones as in fixtures/), by role.

Private keys are clamped, so each public key is what ``wg pubkey`` prints for it.
"""

CLIENT_PRIVATE = "kI/mA/YdwDa1xZbcCf484/PTDckPAkyF88gtssyrZ10="
CLIENT_PUBLIC = "NH42vYcGCVlEt60BKV4KaXevr1JQknXun2zsOQM9iA8="
SERVER_PUBLIC = "rxhVyV5WGzRkxs5GodeRTeYYPPsWKc7PnOH4qCUzJ2s="
PEER1_PUBLIC = "jhNKkS+JHIoQOisoVGLDqacJ1txdFOlQ4+j8pE0GTGY="
PEER2_PUBLIC = "y1vfjav4F19yVsTZdGNsbri1YoR7SeZKYC+rIddg5i4="
PEER3_PUBLIC = "PFKgmKzy3X7x93Rd45tzI51fR3uTpmi83bsOyvwb5Rs="
PSK = "OfbMnHkFJY7vsSKB3rWA89qvCANobwKtCoO/oI+FJrQ="

SECRETS = (CLIENT_PRIVATE, PSK)
