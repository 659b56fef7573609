"""Assignments: which pages (with which controls preset or hidden), which exercises must pass, and goals
checked against the learner's own runs ("test accuracy ≥ 98 % with ≤ 20,000 parameters"), with an optional
deadline — kept in the run store's database and shared as one link carrying an unguessable code."""
from __future__ import annotations

import json
import operator
import secrets
import time
from dataclasses import asdict, dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

import sqlalchemy as sa

from .. import course

_meta = sa.MetaData()
table = sa.Table(
    "assignments", _meta,
    sa.Column("code", sa.String(32), primary_key=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("spec", sa.Text, nullable=False),
    sa.Column("deadline", sa.Float),
    sa.Column("created", sa.Float, nullable=False),
)
members_table = sa.Table(
    "assignment_members", _meta,
    sa.Column("code", sa.String(32), primary_key=True),
    sa.Column("workspace", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("joined", sa.Float, nullable=False),
    sa.Column("handed_in", sa.Float),
    sa.Column("bundle_sha", sa.String(64), nullable=False, default=""),
)
OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq}
SHOWN_OPS = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "="}


@dataclass
class Condition:
    """A number (or setting) of a run against a value: `key` names a figure in the run's summary
    ("test_acc", "n_params") or, prefixed "spec.", a setting ("spec.method")."""
    key: str
    op: str
    value: float | str

    def value_of(self, run):
        if self.key.startswith("spec."):
            v = run.spec
            for part in self.key[5:].split("."):
                v = v.get(part) if isinstance(v, dict) else None
            return v
        return run.summary.get(self.key)

    def holds(self, run) -> bool:
        got = self.value_of(run)
        if got is None or (self.op != "==" and not isinstance(got, (int, float))):
            return False
        return bool(OPS[self.op](got, self.value))

    def text(self) -> str:
        return f"{self.key} {SHOWN_OPS[self.op]} {self.value:g}" if isinstance(self.value, (int, float)) else \
            f"{self.key} = {self.value}"


@dataclass
class Goal:
    page: str  # the lesson whose runs can meet it
    label: str  # "test accuracy ≥ 98 % with ≤ 20,000 parameters"
    conditions: list[Condition] = field(default_factory=list)

    def met_by(self, run) -> bool:
        return run.page == self.page and run.state == "done" and all(c.holds(run) for c in self.conditions)

    def measure(self, run) -> float | None:
        """The run's value of the goal's first numeric condition (what the class's histogram shows)."""
        for c in self.conditions:
            v = c.value_of(run)
            if run.page == self.page and isinstance(v, (int, float)) and not isinstance(v, bool):
                return float(v)
        return None

    @property
    def higher(self) -> bool:
        numeric = [c for c in self.conditions if c.op != "=="]
        return not numeric or numeric[0].op in (">=", ">")


def parse_goal(line: str) -> Goal:
    """"page | label | key >= value; key <= value" (a value that is no number compared with ==) → a Goal;
    ValueError saying what is wrong."""
    parts = [p.strip() for p in line.split("|")]
    if len(parts) != 3:
        raise ValueError(f"“{line}”: write page | label | conditions")
    conditions = []
    for text in parts[2].split(";"):
        op = next((op for op in (">=", "<=", "==", ">", "<") if op in text), None)
        if op is None:
            raise ValueError(f"“{text.strip()}”: a condition is key >= value (or <=, >, <, ==)")
        key, value = (t.strip() for t in text.split(op, 1))
        try:
            conditions.append(Condition(key, op, float(value)))
        except ValueError:
            conditions.append(Condition(key, "==", value))
    return Goal(parts[0], parts[1], conditions)


def parse_presets(text: str) -> dict[str, dict]:
    """Lines "page: widget=value&widget=value", or a page's pasted "Link to this setup" → page → settings."""
    by_url = {p.url: p.key for p in course.COURSE}
    out: dict = {}
    for line in filter(str.strip, text.splitlines()):
        link = urlsplit(line.strip())
        if link.query and (page := by_url.get("/" + link.path.rsplit("/", 1)[-1])):
            out[page] = dict(parse_qsl(link.query))
        else:
            page, _, rest = line.partition(":")
            out[page.strip()] = dict(kv.split("=", 1) for kv in rest.strip().split("&") if "=" in kv)
    return out


def parse_hidden(text: str) -> dict[str, list[str]]:
    """Lines "page: widget, widget" → page → the widget keys to hide."""
    return {page.strip(): [k.strip() for k in rest.split(",") if k.strip()]
            for page, _, rest in (line.partition(":") for line in filter(str.strip, text.splitlines()))}


# Goals a teacher can start from (the examples; each checked by its lesson's stored figures).
EXAMPLES = {
    "MLP: test accuracy ≥ 98 % with ≤ 20,000 parameters":
        Goal("mlp", "test accuracy ≥ 98 % with ≤ 20,000 parameters",
             [Condition("test_acc", ">=", 0.98), Condition("n_params", "<=", 20000)]),
    "Overfitting lab: L1 leaves ≥ 50 % exact zeros":
        Goal("overfit", "L1 leaves ≥ 50 % of the weights exactly zero", [Condition("zero_share", ">=", 0.5)]),
    "Grid world: SARSA's path keeps off the cliff":
        Goal("rl", "SARSA's greedy path reaches the goal without walking the cliff's edge",
             [Condition("greedy_beside_pits", "<=", 0), Condition("greedy_reaches_goal", ">=", 1),
              Condition("spec.method", "==", "sarsa"), Condition("spec.world", "==", "cliff")]),
}


@dataclass
class Assignment:
    title: str
    pages: list[str] = field(default_factory=list)  # lesson keys, in the order to work through them
    presets: dict[str, dict] = field(default_factory=dict)  # page → {widget key: value as its URL spells it}
    hidden: dict[str, list[str]] = field(default_factory=dict)  # page → widget keys hidden from the learner
    exercises: list[str] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    deadline: float | None = None
    code: str = ""
    created: float = 0.0

    def page_url(self, page: str) -> str:
        """The page's address with the assignment's preset settings (its widgets read them from the URL)."""
        query = urlencode({k: v for k, v in self.presets.get(page, {}).items()}, doseq=True)
        return course.page(page).url.lstrip("/") + (f"?{query}" if query else "")

    def link(self, base: str = "") -> str:
        return f"{base.rstrip('/')}/assignment?assignment={self.code}"

    def to_json(self) -> str:
        d = asdict(self)
        for k in ("code", "created", "deadline", "title"):
            d.pop(k)
        return json.dumps(d)

    @classmethod
    def from_row(cls, row) -> "Assignment":
        d = json.loads(row.spec)
        goals = [Goal(g["page"], g["label"], [Condition(**c) for c in g["conditions"]]) for g in d.pop("goals", [])]
        return cls(title=row.title, goals=goals, deadline=row.deadline, code=row.code, created=row.created, **d)

    def check(self) -> None:
        """Raise ValueError naming what is wrong: an unknown page or exercise, a goal of no listed page."""
        from ..exercises.catalog import BY_ID

        if not self.title.strip():
            raise ValueError("give the assignment a title")
        for p in self.pages + [g.page for g in self.goals]:
            if p not in course.lessons() and p not in {c.key for c in course.COURSE}:
                raise ValueError(f"there is no page {p!r}")
        for e in self.exercises:
            if e not in BY_ID:
                raise ValueError(f"there is no exercise {e!r}")
        for g in self.goals:
            if not g.conditions or any(c.op not in OPS for c in g.conditions):
                raise ValueError(f"goal {g.label!r}: give it conditions such as test_acc >= 0.98")


@dataclass
class Member:
    workspace: str
    name: str
    joined: float
    handed_in: float | None = None
    bundle_sha: str = ""


def _engine():
    from ..runs import get_store

    return get_store().engine


def create(a: Assignment) -> Assignment:
    a.check()
    a.code, a.created = secrets.token_urlsafe(12), time.time()  # 96 random bits: the link is the key
    with _engine().begin() as con:
        con.execute(table.insert().values(code=a.code, title=a.title.strip()[:200], spec=a.to_json(),
                                          deadline=a.deadline, created=a.created))
    return a


def get(code: str | None) -> Assignment | None:
    if not code:
        return None
    with _engine().connect() as con:
        row = con.execute(table.select().where(table.c.code == code)).first()
    return None if row is None else Assignment.from_row(row)


def every() -> list[Assignment]:
    with _engine().connect() as con:
        rows = con.execute(table.select().order_by(table.c.created.desc())).all()
    return [Assignment.from_row(r) for r in rows]


def join(code: str, workspace: str, name: str) -> Member:
    """The workspace takes part (again: its name updated)."""
    name = " ".join(name.split())[:100]
    if not name:
        raise ValueError("type your name, as your teacher knows you")
    with _engine().begin() as con:
        where = (members_table.c.code == code) & (members_table.c.workspace == workspace)
        if con.execute(members_table.select().where(where)).first() is None:
            con.execute(members_table.insert().values(code=code, workspace=workspace, name=name, joined=time.time()))
        else:
            con.execute(members_table.update().where(where).values(name=name))
    return member(code, workspace)


def member(code: str, workspace: str) -> Member | None:
    with _engine().connect() as con:
        row = con.execute(members_table.select().where((members_table.c.code == code)
                                                       & (members_table.c.workspace == workspace))).first()
    return None if row is None else Member(row.workspace, row.name, row.joined, row.handed_in, row.bundle_sha)


def members(code: str) -> list[Member]:
    with _engine().connect() as con:
        rows = con.execute(members_table.select().where(members_table.c.code == code)
                           .order_by(members_table.c.name)).all()
    return [Member(r.workspace, r.name, r.joined, r.handed_in, r.bundle_sha) for r in rows]


def joined_by(workspace: str) -> list[Assignment]:
    """The assignments this workspace takes part in, newest first."""
    with _engine().connect() as con:
        codes = [r.code for r in con.execute(members_table.select().where(members_table.c.workspace == workspace)
                                              .order_by(members_table.c.joined.desc())).all()]
    return [a for a in (get(c) for c in codes) if a is not None]


def handed_in(code: str, workspace: str, sha: str) -> None:
    with _engine().begin() as con:
        con.execute(members_table.update().where((members_table.c.code == code)
                                                 & (members_table.c.workspace == workspace))
                    .values(handed_in=time.time(), bundle_sha=sha))


__all__ = ["Assignment", "Condition", "EXAMPLES", "Goal", "Member", "OPS", "create", "every", "get", "handed_in",
           "join", "joined_by", "member", "members", "parse_goal", "parse_hidden", "parse_presets"]
