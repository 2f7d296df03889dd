"""Where the scope hash key comes from: the `scope_hash` settings (a Secrets Manager secret the template creates,
deployed; the key itself, locally) or MEMERASE_SCOPE_HASH_KEY. Read once per process (`runtime.hasher` caches it);
never a built-in key."""

from __future__ import annotations

from pydantic import Field, model_validator

from memerase.errors import ConfigError
from memerase.fingerprint import MIN_KEY_LENGTH, ScopeHasher
from memerase.strict import Strict


class ScopeHashConfig(Strict):
    """The per-deployment secret scope hashes are keyed with: `secret_arn` (deployed) or `key` (local), not both."""

    secret_arn: str | None = Field(None, min_length=20, description="a Secrets Manager secret holding the key")
    key: str | None = Field(None, min_length=MIN_KEY_LENGTH, repr=False, description="the key itself (local use)")
    region_name: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> ScopeHashConfig:
        if (self.secret_arn is None) == (self.key is None):
            raise ValueError("give exactly one of secret_arn and key")
        return self


def load_hasher(config: ScopeHashConfig | None) -> ScopeHasher:
    """The hasher the settings describe; without a `scope_hash` section, the key MEMERASE_SCOPE_HASH_KEY holds."""
    if config is None:
        return ScopeHasher.from_env()
    if config.key is not None:
        return ScopeHasher(config.key)
    return ScopeHasher(_read_secret(str(config.secret_arn), config.region_name))


def _read_secret(secret_arn: str, region_name: str | None) -> str:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        value = boto3.client("secretsmanager", region_name=region_name).get_secret_value(SecretId=secret_arn)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise ConfigError(f"could not read the scope hash secret ({code})") from None
    except BotoCoreError as exc:
        raise ConfigError(f"could not read the scope hash secret ({type(exc).__name__})") from None
    secret = value.get("SecretString")
    if not isinstance(secret, str):
        raise ConfigError("the scope hash secret holds no string")
    return secret
