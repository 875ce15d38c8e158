"""How secrets look in what idcpilot records: one spelling for the plan, the gate and the report."""

#: The key Pulumi's wire format marks a special value with (``pulumi.runtime.rpc._special_sig_key``);
#: a secret's serialised form carries it, so such a value is never plaintext in a manifest.
PULUMI_SIG_KEY = "4dabf18193072939515e22adb298388d"
#: The value under that key that marks a secret (``pulumi.runtime.rpc._special_secret_sig``).
PULUMI_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
#: How ``idcpilot plan`` renders a Pulumi secret in recorded inputs and planned manifests.
REDACTED = "[secret]"
