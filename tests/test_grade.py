"""Grading a class (`symgrad grade`, `symgrad.grade`): a class of 200 written submissions over 20
variants of a 2-2-1 sheet, each student's numbers worked out here in plain Python (no symgrad
numbers), with mistakes planted at known rates.  Every total must be what the planted mistakes
cost, equal to grading the file alone (and to `symgrad check` against a problem with that
variant's numbers written in); the report must count each planted mistake, by its id, for
exactly the students who made it; the CSV, the gradebooks, results.jsonl and report.json are
parsed back; the HTML is self-contained and escapes what students wrote; unreadable files do not
stop the batch (exit 1), and a bad problem, manifest or roster is one line with nothing written.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

import symgrad
from symgrad.grade import grade
from symgrad.output.classreport import class_files, feedback_names

from cli import assert_bad_input, run_here


def sheet(given: dict[str, float] | None = None) -> str:
    """The 2-2-1 sheet: with `given` (a variant's drawn numbers) written in and no [variants]."""
    g = given or {"W1[1,1]": 0.1, "W1[1,2]": 0.2, "W1[2,1]": 0.3, "W1[2,2]": 0.4,
                  "W2[1,1]": 0.5, "W2[1,2]": 0.6, "x[1]": 1.0, "x[2]": 0.5}
    text = f"""
title = "A 2-2-1 network"

[[question]]
number = "1"
text = "A 2-2-1 network with sigmoid units."

[question.network]
inputs = 2
loss = "half_squared_error"
learning_rate = 0.5

[[question.network.layer]]
units = 2
activation = "sigmoid"
weights = [[{g["W1[1,1]"]!r}, {g["W1[1,2]"]!r}], [{g["W1[2,1]"]!r}, {g["W1[2,2]"]!r}]]
biases = [0.1, 0.1]

[[question.network.layer]]
units = 1
activation = "sigmoid"
weights = [[{g["W2[1,1]"]!r}, {g["W2[1,2]"]!r}]]
biases = [0.2]

[question.data]
x = [{g["x[1]"]!r}, {g["x[2]"]!r}]
y = [1]

[[question.part]]
text = "The forward pass and the loss."
show = ["forward", "loss"]
points = 4

[[question.part]]
text = "Two gradients."
show = ["gradients"]
gradients = ["W2[1,1]", "W1[1,1]"]
points = 4

[[question.part]]
text = "One step of gradient descent."
show = ["update"]
gradients = ["W2[1,1]"]
update = true
points = 2
"""
    if given is None:
        text += """
[variants]
W1 = { uniform = [-1, 1], step = 0.1 }
W2 = { uniform = [-1, 1], step = 0.1 }
x = { choose = [[1, 0.5], [0.5, 1], [1, 1], [0.5, 0.5]] }
"""
    return text


@functools.lru_cache(maxsize=None)
def drawn(n: int) -> tuple[tuple[str, dict[str, float]], ...]:
    """n variants drawn by symgrad.variants: (id, the drawn numbers)."""
    made = symgrad.variants(tomllib.loads(sheet()), n=n, seed=3)
    return tuple((v.id, dict(v.given)) for v in made.variants)


# -- the student, in plain Python

def sig(v: float) -> float:
    return 1 / (1 + math.exp(-v))


def worked(g: dict[str, float], eta: float = 0.5, y: float = 1.0) -> dict[str, Any]:
    """The forward pass, ∂L/∂W2[1,1], ∂L/∂W1[1,1] and the update of W2[1,1], by hand."""
    w1 = [[g["W1[1,1]"], g["W1[1,2]"]], [g["W1[2,1]"], g["W1[2,2]"]]]
    w2, x = [g["W2[1,1]"], g["W2[1,2]"]], [g["x[1]"], g["x[2]"]]
    z1 = [w1[i][0] * x[0] + w1[i][1] * x[1] + 0.1 for i in range(2)]
    a1 = [sig(v) for v in z1]
    z2 = w2[0] * a1[0] + w2[1] * a1[1] + 0.2
    o = sig(z2)
    delta = (o - y) * o * (1 - o)
    return {"z1": z1, "a1": a1, "z2": z2, "o": o, "L": 0.5 * (o - y) ** 2, "y": y, "eta": eta,
            "gW2": delta * a1[0], "gW1": delta * w2[0] * a1[0] * (1 - a1[0]) * x[0], "W2": w2[0],
            "no_derivative": (o - y) * a1[0]}


def written(v: float) -> str:
    """A value as a student writes it: 5 significant figures."""
    return f"{v:.5g}" if abs(v) >= 1e-4 else "0"


def slipped(text: str) -> str:
    """One digit of a written value changed (the third significant one, by 3)."""
    places = [k for k, c in enumerate(text) if c.isdigit() and text[:k + 1].strip("-0.")]
    k = places[2]
    return text[:k] + str((int(text[k]) + 3) % 10) + text[k + 1:]


MISTAKES = {  # the planted mistakes and which students make them (known rates: 20, 14, 11, 10 %)
    "update-sign": lambda k: k % 5 == 1,
    "digit-slip": lambda k: k % 7 == 2,
    "missing-activation-derivative": lambda k: k % 9 == 3,
    "other-variant-value": lambda k: k % 10 == 4,
}


def markdown(vid: str, v: dict[str, Any], planted: set[str], other: dict[str, Any] | None) -> str:
    g_w2 = v["no_derivative"] if "missing-activation-derivative" in planted else v["gW2"]
    sign = "+" if "update-sign" in planted else "-"
    new = v["W2"] + v["eta"] * g_w2 if sign == "+" else v["W2"] - v["eta"] * g_w2
    loss = slipped(written(v["L"])) if "digit-slip" in planted else written(v["L"])
    g_w1 = other["gW1"] if other is not None else v["gW1"]
    lines = [f"variant: {vid}", "## 1a)",
             *(f"$$z^{{[1]}}_{i + 1} = {written(v['z1'][i])}$$" for i in range(2)),
             *(f"$$a^{{[1]}}_{i + 1} = {written(v['a1'][i])}$$" for i in range(2)),
             f"$$z^{{[2]}}_1 = {written(v['z2'])}$$", f"$$\\hat{{y}}_1 = {written(v['o'])}$$",
             f"$$L = {loss}$$", "## 1b)",
             f"$$\\frac{{\\partial L}}{{\\partial W^{{[2]}}_{{11}}}} = {written(g_w2)}$$",
             f"$$\\frac{{\\partial L}}{{\\partial W^{{[1]}}_{{11}}}} = {written(g_w1)}$$", "## 1c)",
             f"$$W^{{[2]}}_{{11}}{{}}' = {written(v['W2'])} {sign} {v['eta']} \\cdot {written(g_w2)} "
             f"= {written(new)}$$"]
    return "\n\n".join(lines) + "\n"


def expected_total(planted: set[str]) -> float:
    """What the planted mistakes cost: 1a has 7 lines for 4 points, 1b two lines for 4 and 1c one
    line for 2; an update from the student's own wrong gradient is right (error carried
    forward, full credit by default)."""
    return (10 - 4 / 7 * ("digit-slip" in planted) - 2 * ("missing-activation-derivative" in planted)
            - 2 * ("other-variant-value" in planted) - 2 * ("update-sign" in planted))


def make_class(folder: Path, students: int, variants: int) -> dict[str, Any]:
    """The problem, variants.json and every student's Markdown; what was planted, by student."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "exam.toml").write_text(sheet())
    table = drawn(variants)
    manifest = [{"id": vid, "given": given} for vid, given in table]
    (folder / "variants.json").write_text(json.dumps(manifest))
    work = folder / "work"
    work.mkdir()
    planted: dict[str, set[str]] = {}
    of: dict[str, str] = {}
    for k in range(students):
        vid, given = table[k % len(table)]
        mine = {m for m, who in MISTAKES.items() if who(k)}
        v = worked(given)
        other = None
        if "other-variant-value" in mine:  # the first other variant whose value is not ours
            for step in range(1, len(table)):
                candidate = worked(table[(k + step) % len(table)][1])
                if abs(candidate["gW1"] - v["gW1"]) > 1e-3 * max(abs(v["gW1"]), 1e-3):
                    other = candidate
                    break
        student = f"s{k:03d}"
        planted[student], of[student] = mine, vid
        (work / f"{student}.md").write_text(markdown(vid, v, mine, other))
    return {"problem": folder / "exam.toml", "variants": folder / "variants.json", "work": work,
            "planted": planted, "variant": of, "given": dict(table)}


def mistakes_by_student(records: list[dict[str, Any]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for m in records:
        for s in m["students"]:
            out.setdefault(s, set()).add(m["mistake"])
    return out


def test_a_class_of_200_over_20_variants(tmp_path: Path) -> None:
    made = make_class(tmp_path, 200, 20)
    result = grade(made["problem"], [made["work"]], variants=made["variants"], jobs=2)
    assert result.exit_status == 0 and not result.unreadable and len(result.graded) == 200
    assert result.columns == ("1a", "1b", "1c")
    by_student = {g.student: g for g in result.graded}
    for student, planted in made["planted"].items():
        g = by_student[student]
        assert g.variant == made["variant"][student]
        assert g.total == pytest.approx(expected_total(planted), abs=1e-6), (student, planted)
        assert g.out_of == 10 and g.checked == 1.0

    # the report counts each planted mistake for exactly the students who made it
    summary = result.summary()
    counted = {m["mistake"]: m for m in summary["mistakes"]}
    assert set(counted) == set(MISTAKES)
    for mistake in MISTAKES:
        who = sorted(s for s, p in made["planted"].items() if mistake in p)
        assert sorted(counted[mistake]["students"]) == who, mistake
        assert counted[mistake]["count"] == len(who)
        assert counted[mistake]["share"] == pytest.approx(len(who) / 200, abs=1e-4)
        assert counted[mistake]["example"]["student"] in who
    assert summary["students"] == summary["graded"] == 200
    assert summary["mean"] == pytest.approx(sum(expected_total(p) for p in made["planted"].values()) / 200,
                                            abs=1e-5)
    assert sum(b["count"] for b in summary["histogram"]) == 200
    assert [p["part"] for p in summary["parts"]] == ["1a", "1b", "1c"]

    # a few students, one of each kind, graded alone, and checked against their variant's problem
    picks = ["s000", "s001", "s002", "s003", "s004", "s011", "s021"]
    for student in picks:
        alone = grade(made["problem"], [made["work"] / f"{student}.md"], variants=made["variants"])
        assert alone.graded[0].total == by_student[student].total, student
    for student in ("s001", "s003", "s004"):
        problem = tmp_path / f"{student}.toml"
        problem.write_text(sheet(made["given"][made["variant"][student]]))
        report = symgrad.check(problem, made["work"] / f"{student}.md")
        assert round(report.points, 6) == by_student[student].total, student

    # every file, parsed back
    files = class_files(result, summary, "canvas")
    rows = list(csv.DictReader(io.StringIO(files["grades.csv"])))
    assert list(rows[0]) == ["student", "variant", "1a", "1b", "1c", "total", "out_of", "checked"]
    for row in rows:
        g = by_student[row["student"]]
        assert float(row["total"]) == pytest.approx(g.total, abs=1e-4) and row["variant"] == g.variant
        assert sum(float(row[c]) for c in ("1a", "1b", "1c")) == pytest.approx(g.total, abs=1e-3)
        assert row["out_of"] == "10" and row["checked"] == "1"
    canvas = list(csv.reader(io.StringIO(files["gradebook-canvas.csv"])))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "A 2-2-1 network"]
    assert canvas[1][0].strip() == "Points Possible" and canvas[1][5] == "10"
    assert {r[2]: float(r[5]) for r in canvas[2:]} == pytest.approx({s: g.total for s, g in by_student.items()},
                                                                     abs=1e-4)
    lines = files["results.jsonl"].splitlines()
    assert len(lines) == 200
    for line in lines:
        record = json.loads(line)
        mine = {i["mistake"] for i in record["items"] if i["verdict"] == "wrong"}
        assert mine == made["planted"][record["student"]]
        assert record["variant"] == made["variant"][record["student"]]
        assert record["score"]["points"] == by_student[record["student"]].total
    report = json.loads(files["report.json"])
    assert {k: report[k] for k in ("students", "graded")} == {"students": 200, "graded": 200}
    assert mistakes_by_student(report["mistakes"]) == {s: p for s, p in made["planted"].items() if p}
    assert report["unreadable"] == []
    page = files["report.html"]
    assert page.count("<svg") == 3 and "other-variant-value" in page
    assert len([n for n in files if n.startswith("feedback/")]) == 200


def small_class(tmp_path: Path, students: int = 6) -> dict[str, Any]:
    return make_class(tmp_path / "class", students, 3)


def test_the_command_writes_every_file_and_exits_1_for_an_unreadable_one(tmp_path: Path) -> None:
    made = small_class(tmp_path)
    work = made["work"]
    (work / "nobody.md").write_text("$$L = 0.5$$\n")  # no variant line, and not in the roster
    (work / "empty.json").write_text('{"questions": ')  # not JSON
    first, second = (vid for vid, _ in drawn(3)[:2])
    hostile = work / "<img src=x onerror=alert(1)>.md"  # its stem is the student's id
    hostile.write_text(markdown(first, worked(made["given"][first]), set(), None)
                       .replace("## 1b)", "$$z^{[1]}_1 = \\frac{<script>alert(1)</script>}{2}$$\n\n## 1b)"))
    roster = tmp_path / "roster.csv"
    roster.write_text(f"file,student,variant\ns000.md,@risky,{first}\nempty.json,u2,{second}\n"
                      f"s001.json,never,{first}\n")
    out = run_here("grade", str(made["problem"]), str(work), "--variants", str(made["variants"]),
                   "--roster", str(roster), "-o", str(tmp_path / "out"), "--gradebook", "moodle",
                   "--jobs", "2")
    assert out.returncode == 1, out.stderr
    errors = out.stderr.strip().splitlines()
    assert len(errors) == 2 and all(e.startswith("symgrad: ") for e in errors), out.stderr
    assert any("nobody.md" in e for e in errors) and any("empty.json" in e for e in errors)
    assert "Traceback" not in out.stderr and "\r" not in out.stderr  # no progress bar off a terminal
    folder = tmp_path / "out"
    report = json.loads((folder / "report.json").read_text())
    assert report["students"] == 9 and report["graded"] == 7
    assert sorted(Path(u["file"]).name for u in report["unreadable"]) == ["empty.json", "nobody.md"]
    # the roster's names; a cell that a spreadsheet would read as a formula is quoted
    grades = list(csv.reader(io.StringIO((folder / "grades.csv").read_text())))
    students = [r[0] for r in grades[1:]]
    assert "'@risky" in students and "@risky" not in students and "s001" in students
    moodle = list(csv.reader(io.StringIO((folder / "gradebook-moodle.csv").read_text())))
    assert moodle[0] == ["ID number", "A 2-2-1 network"] and len(moodle) == 1 + 7
    assert dict(moodle[1:])["'@risky"] == "10"
    # every page self-contained, every student's string escaped
    pages = [folder / "report.html", *sorted((folder / "feedback").glob("*.html"))]
    assert len(pages) == 8
    for page in pages:
        text = page.read_text()
        assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|@import|<script|<img""",
                             text, re.I), page
    assert "&lt;img src=x onerror=alert(1)&gt;" in (folder / "report.html").read_text()
    escaped = [p for p in pages if "&lt;script&gt;alert(1)&lt;/script&gt;" in p.read_text()]
    assert {p.name for p in escaped} == {"report.html", "img_src_x_onerror_alert_1.html"}
    results = [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines()]
    assert {r["student"] for r in results} == {"@risky", "s001", "s002", "s003", "s004", "s005",
                                               "<img src=x onerror=alert(1)>"}


def test_a_graded_class_exits_0_and_the_api_gives_the_same_records(tmp_path: Path) -> None:
    made = small_class(tmp_path, 4)
    out = run_here("grade", str(made["problem"]), str(made["work"]), "--variants",
                   str(made["variants"]), "-o", str(tmp_path / "out"), "--gradebook", "canvas")
    assert out.returncode == 0 and out.stderr == "", out.stderr
    result = symgrad.grade(made["problem"], [made["work"]], variants=made["variants"])
    grades = list(csv.DictReader(io.StringIO((tmp_path / "out" / "grades.csv").read_text())))
    assert [r["student"] for r in grades] == [g.student for g in result.graded]
    assert [float(r["total"]) for r in grades] == pytest.approx([g.total for g in result.graded], abs=1e-4)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "feedback", "gradebook-canvas.csv", "grades.csv", "report.html", "report.json", "results.jsonl"]


@pytest.mark.parametrize("change, expected", [
    ("problem", "network.layer"),
    ("variants", "variants.json"),
    ("roster", "roster.csv"),
    ("no manifest", "--variants"),
])
def test_a_bad_problem_manifest_or_roster_is_one_line_and_nothing_written(
        tmp_path: Path, change: str, expected: str) -> None:
    made = small_class(tmp_path, 2)
    args = {"problem": str(made["problem"]), "variants": str(made["variants"])}
    roster = tmp_path / "roster.csv"
    roster.write_text(f"file,student,variant\ns000.md,ann,{drawn(3)[0][0]}\n")
    if change == "problem":
        bad = tmp_path / "bad.toml"
        bad.write_text(sheet().replace("units = 1", "units = 0"))
        args["problem"] = str(bad)
        expected = "bad.toml"
    elif change == "variants":
        Path(args["variants"]).write_text('[{"id": "v1", "given": {"W9[1,1]": 1}}]')
    elif change == "roster":
        roster.write_text("name,grade\nann,1\n")
    manifest = ["--variants", args["variants"]] if change != "no manifest" else []
    out = run_here("grade", args["problem"], str(made["work"]), *manifest,
                   "--roster", str(roster), "-o", str(tmp_path / "out"))
    assert_bad_input(out, expected)
    assert not (tmp_path / "out").exists()


def test_a_manifest_of_one_variant_needs_no_variant_line(tmp_path: Path) -> None:
    made = small_class(tmp_path, 2)
    one = json.loads(made["variants"].read_text())[:1]
    made["variants"].write_text(json.dumps(one))
    (made["work"] / "s001.md").unlink()  # a student of another variant
    text = (made["work"] / "s000.md").read_text()
    (made["work"] / "s000.md").write_text(text.replace(f"variant: {one[0]['id']}", ""))
    result = grade(made["problem"], [made["work"]], variants=made["variants"])
    assert [(g.variant, g.total) for g in result.graded] == [(one[0]["id"], 10.0)]


def test_feedback_names_are_unique_and_safe() -> None:
    class G:
        def __init__(self, student: str) -> None:
            self.student = student

    class R:
        graded = [G("Ann"), G("ann"), G("a/b"), G("a_b"), G("../x"), G("")]

    names = feedback_names(R())
    assert len({n.casefold() for n in names.values()}) == len(names)
    assert all(re.fullmatch(r"[\w.@+-]+", n) and not n.startswith(".") for n in names.values())


def test_pdfs_of_the_report_and_the_feedback(tmp_path: Path) -> None:
    from symgrad.output.pdf import LatexError, engine

    try:
        engine()
    except LatexError:
        pytest.skip("no TeX engine")
    made = small_class(tmp_path, 2)
    out = run_here("grade", str(made["problem"]), str(made["work"]), "--variants",
                   str(made["variants"]), "-o", str(tmp_path / "out"), "--pdf", "--jobs", "2")
    assert out.returncode == 0, out.stderr
    for name in ("report.pdf", "feedback/s000.pdf", "feedback/s001.pdf"):
        assert (tmp_path / "out" / name).read_bytes().startswith(b"%PDF"), name
