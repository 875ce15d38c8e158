"""The estate PKI: an operator-side CA (``store``) and its certificate work (``ca``).

The CA key never reaches a managed host. Gateways make their own keys and send certificate
requests; identities' owners do the same (``idcpilot pki sign``). docs/edge-services.md tells the
operator's side of it: enrolment, renewal, revocation and the CRL.
"""
