"""A small JumpCloud client: the only place that talks HTTP to JumpCloud.

Why not the SDK's REST machinery: a target has none, and the create path needs a rule the
generic retry decorators cannot express: a POST whose outcome is unknown (timeout, dropped
connection, 5xx) must not be retried blindly, because JumpCloud may already have stored the
user. `create_user` raises `UnknownOutcomeError` instead and leaves the decision to the
applier, which looks the user up first.

Credentials come from an auth provider (`auth.py`): a personal API key (`x-api-key`) or a
service account's access token (`Authorization: Bearer`), added to each request by a
`requests` auth hook. A 401 on an API call renews the token once and repeats the call.

Secrets: the key, the client secret and the tokens only ever live in the provider and in
the request headers. Every message this module builds is scrubbed of them, and error
messages carry the HTTP status and JumpCloud's short `message`, never a response body with
people's data (nor a token endpoint's answer, which may hold a token).
"""

from __future__ import annotations

from target_jumpcloud.jumpcloud.usergroups import UserGroupsAPI
from target_jumpcloud.jumpcloud.users import UsersAPI
from target_jumpcloud.jumpcloud.userstates import UserStatesAPI


class JumpCloudClient(UsersAPI, UserStatesAPI, UserGroupsAPI):
    """JumpCloud's V1 system-user API over one keep-alive `requests.Session`.

    Retries 429, 5xx, dropped connections and timeouts with capped exponential backoff (with
    jitter) and honours `Retry-After`; never retries any other 4xx. Thread-safe for the
    applier's worker threads: the session's pool holds `pool_size` connections.

    Authenticates with `api_key` or with `service_account` (exactly one); the token grant
    goes through the same retry policy. `clock` is the service account's clock (tests).
    """
