"""`deel-webhooks`: Deel's webhook deliveries turned into targeted syncs within seconds.

The receiver is a long-lived process (console script `deel-webhooks`, extra
`tap-deel[webhooks]`). Pure logic lives in small modules of its own, so it can be tested
without a server: `config` (the environment), `signature` (Deel's HMAC), `events` (a delivery
to the people it names), `policy` (debounce, targeted or full, retry waits). Around them:
`store` (the durable SQLite queue), `app` (the ASGI app), `worker` (starts one sync at a
time), `sync_run` (the process that takes the shared lock and runs the sync command) and
`cli` (the command line).
"""
