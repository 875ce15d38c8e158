"""CrossGuard entry point: `pulumi preview --policy-pack policy/` runs this file.

It only constructs the pack; every rule's code lives in policy/rules/ and idcpilot.policy,
shared with `idcpilot check`. PolicyPack() starts the gRPC server and never returns.
"""

from idcpilot.policy.crossguard import serve

serve()
