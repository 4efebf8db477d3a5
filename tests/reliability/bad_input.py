# ruff: noqa: RUF001 - the corpus is made of confusable and invisible characters on purpose
"""The bad-input corpus: Singer streams that are broken or hold bad workers, with what must happen.

Each `Case` is fed straight to `target-jumpcloud` (no tap) against an empty JumpCloud emulator.
Unless `wrapped` is off, its lines sit between a SCHEMA plus one good worker (`good-1`) and a
second good worker (`good-2`) plus the closing STATE, so every case also proves that the other
records are not lost.

* A broken stream (`fatal_line`) must stop the run before anything is written, with one ERROR
  line naming that input line and the reason, never quoting the data (exit 5).
* Otherwise every worker record ends in the listed outcome, whose reason contains the listed
  text; the run exits 0; JumpCloud then holds exactly the users created, with the attributes
  listed in `users` (and `check`, when given, looks at the directory).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.reliability.harness import PEOPLE_SCHEMA, record_line, schema_line, worker

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

GOOD_1 = worker("good-1", "Grace", "Hopper", email="grace.hopper@acme.example")
GOOD_2 = worker("good-2", "Alan", "Turing", email="alan.turing@acme.example")
STATE_LINE = json.dumps({"type": "STATE", "value": {"bookmarks": {"people": {}}}})
FIRST_BODY_LINE = 3  # SCHEMA is line 1, good-1 line 2

Line = str | bytes
Outcome = tuple[str, str]  # (outcome, a fragment of its reason; "" for none)
CREATED: Outcome = ("created", "")


@dataclass(frozen=True)
class Case:
    """One entry of the corpus."""

    name: str
    body: tuple[Line, ...]
    outcomes: tuple[Outcome, ...] = ()  # for the body's worker records, in stream order
    fatal_line: int | None = None  # a broken stream: the input line the error must name
    fatal_text: str = ""  # a fragment of the fatal error
    users: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # created: attributes
    check: Callable[[list[dict[str, Any]]], None] | None = None
    schema: Mapping[str, Any] | None = None  # a SCHEMA other than the people schema
    wrapped: bool = True
    warning: str = ""  # a fragment of a warning some record must carry
    newline: bytes = b"\n"

    def lines(self) -> list[Line]:
        if not self.wrapped:
            return list(self.body)
        return [
            schema_line(schema=self.schema),
            record_line(GOOD_1),
            *self.body,
            record_line(GOOD_2),
            STATE_LINE,
        ]

    def data(self) -> bytes:
        return b"".join(
            (line if isinstance(line, bytes) else line.encode("utf-8")) + self.newline
            for line in self.lines()
        )

    def expected_outcomes(self) -> list[Outcome]:
        if self.fatal_line is not None or self.fatal_text:
            return []
        if not self.wrapped:
            return list(self.outcomes)
        return [CREATED, *self.outcomes, CREATED]

    def expected_users(self) -> dict[str, Mapping[str, Any]]:
        users = dict(self.users)
        if self.wrapped and not self.fatal_line and not self.fatal_text:
            users.setdefault("good-1", {"username": "grace.hopper"})
            users.setdefault("good-2", {"username": "alan.turing"})
        return users


def rec(profile_id: Any = "bad", *args: Any, **fields: Any) -> str:
    """A RECORD line for a worker built like the good ones, with `fields` changed."""
    return record_line(worker(profile_id, *args, **fields))


def raw_record(record: Mapping[str, Any]) -> str:
    """A RECORD line for exactly this record (no defaults filled in)."""
    return record_line(record)


def _without(name: str) -> dict[str, Any]:
    record = worker("bad", "Ada", "Lovelace", email="ada@acme.example")
    del record[name]
    return record


def _usernames_are_ascii(users: list[dict[str, Any]]) -> None:
    for user in users:
        name = user["username"]
        assert name.isascii(), name
        assert all(c.isalnum() or c in ".-" for c in name), name
        assert name[0].isalpha(), name


def _three_hundred_marias(users: list[dict[str, Any]]) -> None:
    names = sorted(u["username"] for u in users if u["username"].startswith("maria.garcia"))
    assert len(names) == len(set(names)) == 300
    assert set(names) == {"maria.garcia", *(f"maria.garcia{i}" for i in range(1, 300))}


_PERMISSIVE_ACTIVE = {
    **PEOPLE_SCHEMA,
    "properties": {**PEOPLE_SCHEMA["properties"], "active": {"type": ["boolean", "string"]}},
}
_ANNOUNCING = {**PEOPLE_SCHEMA, "x-singer-stream-end": "STATE"}
_TEN_MB = "x" * 10_000_000
_L = FIRST_BODY_LINE

CASES: tuple[Case, ...] = (
    # -- broken streams: one fatal line, nothing written ----------------------------------------
    Case("json-cut-off", ('{"type": "RECORD", "stream": "people", "record": {"id": "x"',),
         fatal_line=_L, fatal_text="not valid JSON"),
    Case("not-json", ("this is not a Singer message",), fatal_line=_L, fatal_text="not valid JSON"),
    Case("json-array", ("[1, 2, 3]",), fatal_line=_L, fatal_text="not a Singer message"),
    Case("json-string", ('"RECORD"',), fatal_line=_L, fatal_text="not a Singer message"),
    Case("no-type", ('{"stream": "people", "record": {"id": "x"}}',), fatal_line=_L,
         fatal_text="no `type`"),
    Case("unknown-type", ('{"type": "HELLO", "stream": "people"}',), fatal_line=_L,
         fatal_text="not supported"),
    Case("batch-message", (('{"type": "BATCH", "stream": "people", "encoding": {}, '
                           '"manifest": []}'),), fatal_line=_L, fatal_text="not supported"),
    Case("record-without-record", ('{"type": "RECORD", "stream": "people"}',), fatal_line=_L,
         fatal_text="without record"),
    Case("record-not-an-object", ('{"type": "RECORD", "stream": "people", "record": "oops"}',),
         fatal_line=_L, fatal_text="not an object"),
    Case("record-before-schema", (record_line(GOOD_1), schema_line(), record_line(GOOD_2)),
         wrapped=False, fatal_line=1, fatal_text="came before that stream's SCHEMA"),
    Case("other-stream-before-its-schema", (record_line({"id": 1}, stream="contracts"),),
         fatal_line=_L, fatal_text="came before that stream's SCHEMA"),
    Case("schema-without-schema", (('{"type": "SCHEMA", "stream": "teams", '
                                   '"key_properties": []}'),), fatal_line=_L,
         fatal_text="without schema"),
    Case("schema-without-properties", (('{"type": "SCHEMA", "stream": "teams", "schema": '
                                       '{"type": "object"}, "key_properties": []}'),),
         fatal_line=_L, fatal_text="has no properties"),
    Case("state-without-value", ('{"type": "STATE"}',), fatal_line=_L, fatal_text="without value"),
    Case("activate-version-without-version", (('{"type": "ACTIVATE_VERSION", "stream": '
                                              '"people"}'),), fatal_line=_L,
         fatal_text="without version"),
    Case("invalid-utf8-bytes", ((b'{"type": "RECORD", "stream": "people", "record": {"id": '
                                b'"x\xff\xfe", "first_name": "\xc3("}}'),),
         fatal_line=_L, fatal_text="not valid UTF-8"),
    Case("nul-byte", ("\x00",), fatal_line=_L, fatal_text="not valid JSON"),
    Case("byte-order-mark", ("\ufeff" + schema_line(), record_line(GOOD_1)), wrapped=False,
         fatal_line=1, fatal_text="not valid JSON"),
    Case("nested-100000-deep", ("[" * 100_000 + "]" * 100_000,), fatal_line=_L,
         fatal_text="not valid JSON"),
    Case("ten-megabytes-of-garbage", ("#" * 10_000_000,), fatal_line=_L,
         fatal_text="not valid JSON"),
    Case("trailing-garbage", ('{"type": "STATE", "value": {}} and then some',), fatal_line=_L,
         fatal_text="not valid JSON"),
    Case("announced-stream-cut-short", (schema_line(schema=_ANNOUNCING), record_line(GOOD_1),
                                        record_line(GOOD_2)), wrapped=False,
         fatal_text="without the STATE message its SCHEMA announced"),
    # -- empty and odd but valid streams --------------------------------------------------------
    Case("empty-stream", (), wrapped=False),
    Case("blank-lines-only", ("", "   ", "\t"), wrapped=False),
    Case("schema-only", (schema_line(),), wrapped=False),
    Case("crlf-line-endings", (rec("crlf", email="crlf@acme.example"),), newline=b"\r\n",
         outcomes=(CREATED,), users={"crlf": {"email": "crlf@acme.example"}}),
    Case("announced-stream-complete", (schema_line(schema=_ANNOUNCING), record_line(GOOD_1),
                                       record_line(GOOD_2), STATE_LINE), wrapped=False,
         outcomes=(CREATED, CREATED),
         users={"good-1": {"username": "grace.hopper"}, "good-2": {"username": "alan.turing"}}),
    Case("another-stream-interleaved", (schema_line("teams"),
                                        record_line({"id": "t1", "name": "Core"}, "teams"),
                                        record_line({"id": "t2", "name": "Edge"}, "teams"))),
    # -- valid JSON in unusual spellings: every parser must read it the same ------------------
    Case("escaped-keys", ((r'{"type": "RECORD", "stream": "peop\u006ce", "record": {"\u0069d": '
                          r'"esc", "work_\u0065mail": "esc@acme.example", "active": true, '
                          r'"first_name": "Esc", "last_name": "Aped"}}'),),
         outcomes=(CREATED,), users={"esc": {"email": "esc@acme.example"}}),
    Case("duplicate-keys-last-wins", (('{"type": "RECORD", "stream": "people", "record": {"id": '
                                      '"first", "id": "dupkey", "work_email": "x@acme.example", '
                                      '"work_email": "dupkey@acme.example", "active": false, '
                                      '"active": true}}'),),
         outcomes=(CREATED,), users={"dupkey": {"email": "dupkey@acme.example"}}),
    Case("type-last", (('{"record": {"id": "late", "work_email": "late@acme.example", '
                       '"active": true}, "stream": "people", "type": "RECORD"}'),),
         outcomes=(CREATED,), users={"late": {"email": "late@acme.example"}}),
    Case("message-words-inside-the-record", (rec("words", type="SCHEMA", stream="teams",
                                                 record={"id": "nested"}, schema="x"),),
         outcomes=(CREATED,), users={"words": {"email": "words@acme.example"}}),
    Case("spaced-out-json", (('{ "type" :\t"RECORD" ,  "stream" : "people" , "record" : { "id" '
                             ': "spaced" , "work_email" : "spaced@acme.example" , "active" : '
                             'true } }'),),
         outcomes=(CREATED,), users={"spaced": {"email": "spaced@acme.example"}}),
    Case("numbers-as-text-values", (rec("nums", job_title=1.5e3, work_location=7),),
         outcomes=(("skipped", "job_title is number"),)),
    # -- work email ------------------------------------------------------------------------------
    Case("email-missing", (raw_record(_without("work_email")),),
         outcomes=(("skipped", "no work email"),)),
    Case("email-null", (raw_record({**worker("bad"), "work_email": None}),),
         outcomes=(("skipped", "no work email"),)),
    Case("email-empty", (rec(email=""),), outcomes=(("skipped", "no work email"),)),
    Case("email-with-space", (rec(email="ada lovelace@acme.example"),),
         outcomes=(("skipped", "not a valid address"),)),
    Case("email-trailing-dot", (rec(email="ada@acme.example."),),
         outcomes=(("skipped", "not a valid address"),)),
    Case("email-no-tld", (rec(email="ada@localhost"),),
         outcomes=(("skipped", "not a valid address"),)),
    Case("email-display-name", (rec(email="Ada <ada@acme.example>"),),
         outcomes=(("skipped", "not a valid address"),)),
    Case("email-two-ats", (rec(email="ada@@acme.example"),),
         outcomes=(("skipped", "not a valid address"),)),
    Case("email-mailto", (rec(email="mailto:ada@acme.example"),),
         outcomes=(("skipped", "not a valid address"),)),
    Case("email-zero-width-space", (rec(email="ada\u200b@acme.example"),),
         outcomes=(("skipped", "not a valid address"),)),
    Case("email-lone-surrogate", (rec(email="ada\udc00@acme.example"),),
         outcomes=(("skipped", "invalid Unicode"),)),
    Case("email-too-long", (rec(email="a" * 1020 + "@acme.example"),),
         outcomes=(("skipped", "longer than 1024"),)),
    Case("email-uppercase", (rec("upper", email="ADA.LOVELACE@ACME.EXAMPLE"),),
         outcomes=(CREATED,), users={"upper": {"email": "ADA.LOVELACE@ACME.EXAMPLE"}}),
    Case("email-idn-domain", (rec("idn", "José", "Núñez", email="jose@bücher.example"),),
         outcomes=(CREATED,),
         users={"idn": {"email": "jose@bücher.example", "username": "jose.nunez"}}),
    Case("email-punycode-domain", (rec("puny", email="jose@xn--bcher-kva.example"),),
         outcomes=(CREATED,), users={"puny": {"email": "jose@xn--bcher-kva.example"}}),
    Case("email-padded-with-spaces", (rec("padded", email="  ada@acme.example  "),),
         outcomes=(CREATED,), users={"padded": {"email": "ada@acme.example"}}),
    Case("email-plus-tag", (rec("plus", email="ada+it@acme.example"),), outcomes=(CREATED,),
         users={"plus": {"email": "ada+it@acme.example"}}),
    # -- profile id ------------------------------------------------------------------------------
    Case("id-missing", (raw_record(_without("id")),), outcomes=(("skipped", "no profile id"),)),
    Case("id-null", (raw_record({**worker("x", email="x@acme.example"), "id": None}),),
         outcomes=(("skipped", "id is null"),)),
    Case("id-blank", (rec("   ", email="blank@acme.example"),),
         outcomes=(("skipped", "no profile id"),)),
    Case("id-too-long", (rec("p" * 300, email="long@acme.example"),),
         outcomes=(("skipped", "longer than 256"),)),
    Case("id-integer", (rec(12345, email="int@acme.example"),),
         outcomes=(("skipped", "id is integer"),)),
    # -- active flag -----------------------------------------------------------------------------
    Case("active-missing", (raw_record(_without("active")),),
         outcomes=(("skipped", "no active flag"),)),
    Case("active-null", (rec(active=None),), outcomes=(("skipped", "active is null"),)),
    Case("active-yes", (rec(active="yes"),), outcomes=(("skipped", "active is string"),)),
    Case("active-string-true-any-case", (rec("str-true", active="TRUE"),),
         schema=_PERMISSIVE_ACTIVE, outcomes=(CREATED,), users={"str-true": {"state": "STAGED"}}),
    Case("active-string-false", (rec("str-false", active="False"),), schema=_PERMISSIVE_ACTIVE,
         outcomes=(("skipped", "inactive and not in JumpCloud"),)),
    Case("active-maybe-string", (rec(active="maybe"),), schema=_PERMISSIVE_ACTIVE,
         outcomes=(("skipped", "is not true or false"),)),
    Case("inactive-and-unknown", (rec(active=False),),
         outcomes=(("skipped", "inactive and not in JumpCloud"),)),
    # -- other fields: wrong types, sizes --------------------------------------------------------
    Case("first-name-a-number", (rec(first=42),), outcomes=(("skipped", "first_name is integer"),)),
    Case("department-a-string", (rec(department="Engineering"),),
         outcomes=(("skipped", "department is string"),)),
    Case("department-null", (rec("no-dept", department=None),), outcomes=(CREATED,),
         users={"no-dept": {"department": None}}),
    Case("title-nan", (('{"type": "RECORD", "stream": "people", "record": {"id": "nan", '
                       '"work_email": "nan@acme.example", "active": true, "job_title": NaN}}'),),
         outcomes=(("skipped", "job_title is number"),)),
    Case("title-ten-megabytes", (rec("huge", job_title=_TEN_MB),), outcomes=(CREATED,),
         users={"huge": {"jobTitle": "x" * 1024}}, warning="jobTitle cut to 1024 characters"),
    Case("full-name-2000-characters", (rec("wide", full_name="Ada " * 500),),
         outcomes=(CREATED,), users={"wide": {"displayname": ("Ada " * 256).strip()}},
         warning="displayname cut to 1024 characters"),
    Case("unknown-fields", (rec("extra", nickname="Countess", _sdc_extracted_at="2024-01-01",
                                nested={"deep": [1, {"x": None}]}),),
         outcomes=(CREATED,), users={"extra": {"username": "ada.lovelace"}}),
    # -- Unicode edge cases ----------------------------------------------------------------------
    Case("right-to-left-names", (rec("rtl", "مريم", "الحداد", email="maryam@acme.example"),),
         outcomes=(CREATED,), users={"rtl": {"firstname": "مريم", "lastname": "الحداد"}},
         check=_usernames_are_ascii),
    Case("right-to-left-mark", (rec("rlm", "\u200fנועה", "כהן\u200f", email="noa@acme.example"),),
         outcomes=(CREATED,), check=_usernames_are_ascii),
    Case("emoji", (rec("emoji", "Zoë 🚀", "Ng 🎉", email="zoe@acme.example"),),
         outcomes=(CREATED,), users={"emoji": {"username": "zoe.ng"}}),
    Case("zero-width-characters", (rec("zw", "A\u200bd\u200da", "Love\ufefflace",
                                       email="zw@acme.example"),),
         outcomes=(CREATED,), users={"zw": {"username": "ada.lovelace"}}),
    Case("combining-characters", (rec("comb", "Jose\u0301", "Nu\u0303n\u0303ez",
                                      email="comb@acme.example"),),
         outcomes=(CREATED,), users={"comb": {"username": "jose.nunez"}}),
    Case("names-empty-email-digits", (rec("digits", "", None, email="1234@acme.example"),),
         outcomes=(CREATED,), users={"digits": {"username": "u1234"}}),
    Case("name-lone-surrogate", (rec("surr", "Ad\ud800a", "Lovelace", email="s@acme.example"),),
         outcomes=(CREATED,), users={"surr": {"firstname": None, "username": "lovelace"}},
         warning="firstname not synced: first_name is invalid Unicode"),
    # -- duplicates ------------------------------------------------------------------------------
    Case("duplicate-id", (rec("dup", job_title="Old title", email="dup@acme.example"),
                          rec("dup", job_title="New title", email="dup@acme.example")),
         outcomes=(("skipped", "superseded by a later record with the same profile id"),
                   CREATED),
         users={"dup": {"jobTitle": "New title"}}),
    Case("duplicate-email-both-active", (rec("twin-a", email="twin@acme.example"),
                                         rec("twin-b", email="twin@acme.example")),
         outcomes=(("conflict", "shared by 2 records"), ("conflict", "shared by 2 records"))),
    Case("duplicate-email-differs-in-case", (rec("case-a", email="Case@acme.example"),
                                             rec("case-b", email="case@ACME.example")),
         outcomes=(("conflict", "shared by 2 records"), ("conflict", "shared by 2 records"))),
    Case("duplicate-email-one-active", (rec("old", email="rehire@acme.example", active=False),
                                        rec("new", email="rehire@acme.example")),
         outcomes=(("skipped", "superseded by new"), CREATED),
         users={"new": {"email": "rehire@acme.example"}}),
    Case("three-hundred-identical-names",
         tuple(rec(f"maria-{i}", "María", "García", email=f"maria.garcia.{i}@acme.example")
               for i in range(300)),
         outcomes=(CREATED,) * 300, check=_three_hundred_marias),
)  # fmt: skip
