"""The README's command-line examples, run as written against a real Temporal dev server and
`python -m worker` (issue 12, part 6).

Every ```sh block in README.md has a marker on the line before it:

- `<!-- readme-test: run -->`: each command in the block is run, in order, by bash from the
  root of the repository, exactly as written, in an environment pointing at this test's stack
  (TEMPORAL_ADDRESS, TASK_QUEUE, DATABASE_URL, OUTBOX_DIR, PAYLOAD_KEYS, SURVEY_SECRET), as
  `make run` points an operator's shell at its own. Each must exit 0: a command the README shows
  failing is written `... || echo "exit code $?"`, and what it prints shows the code. A shell
  variable a command sets (`ref=$(...)`) is kept for the commands after it, in later blocks too.
- `<!-- readme-test: not run: WHY -->`: not run, and says why. The only such block is the one
  with `make run`, which starts servers that run until Ctrl-C, and `make test`, the whole suite
  (this test included).

A block with neither fails the test, so a new example cannot slip past it.

What a command prints is the comment lines directly under it. Each is a whole line that the
command prints (stdout and stderr together, as a terminal shows them), in the order shown; other
lines may come between them. In them `...` stands for any text, and a reference (CMP-7KQ3-XM2P,
ENQ-4HX2-9RTB) that no command names stands for the reference the stack gave: the same reference
shown twice must be the same case, and two different ones two different cases. A `# ...` line
alone only says that lines are left out. A comment at the end of a command's own line is for the
reader.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests import test_stack
from tests.processes import REPO

# the stack's fixtures, shared with tests/test_stack.py (a dev server per module)
dev_env = test_stack.dev_env
stack_env = test_stack.stack_env
worker_process = test_stack.worker_process

README = REPO / "README.md"
MARKER = re.compile(r"^<!-- readme-test: (run|not run: .+) -->$")
REFERENCE = re.compile(r"\b(?:CMP|ENQ)-[0-9A-Z]{4}-[0-9A-Z]{4}\b")
ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=")


@dataclass
class Command:
    line: int  # in README.md, for messages
    text: str  # as bash gets it: continuation lines joined
    shows: list[str] = field(default_factory=list)  # the lines it prints, as the README shows


@dataclass
class Block:
    line: int
    marker: str
    commands: list[Command]


def shell_blocks(text: str) -> list[Block]:
    """Every ```sh block with its marker ('' when the line before it has none) and commands."""
    lines = text.splitlines()
    blocks = []
    n = 0
    while n < len(lines):
        if lines[n].strip() != "```sh":
            n += 1
            continue
        start = n
        found = MARKER.match(lines[n - 1].strip()) if n else None
        body = []
        n += 1
        while n < len(lines) and lines[n].strip() != "```":
            body.append((n + 1, lines[n]))
            n += 1
        blocks.append(Block(start + 1, found.group(1) if found else "", commands_of(body)))
        n += 1
    return blocks


def commands_of(body: list[tuple[int, str]]) -> list[Command]:
    commands: list[Command] = []
    current: Command | None = None  # the command whose output lines may follow
    pending = ""  # a command continued on the next line (ends with a backslash)
    for number, raw in body:
        line = raw.rstrip()
        if pending:
            pending += "\n" + line
            if not line.endswith("\\"):
                current.text = pending  # type: ignore[union-attr]
                pending = ""
            continue
        if not line.strip():
            current = None
        elif line.startswith("#"):
            if current is None:
                raise AssertionError(
                    f"README.md:{number}: a comment line that is not under a command; the lines "
                    "under a command are what it prints, so say this outside the block"
                )
            current.shows.append(line[2:] if line.startswith("# ") else line[1:])
        else:
            current = Command(number, line)
            commands.append(current)
            if line.endswith("\\"):
                pending = line
    return commands


class Shown:
    """Matches what a command printed against the lines the README shows, keeping which actual
    reference each shown one stands for."""

    def __init__(self, literal: set[str]) -> None:
        self.literal = literal  # references the commands name: they stand for themselves
        self.stands_for: dict[str, str] = {}

    def pattern(self, shown: str) -> tuple[re.Pattern[str], dict[str, str]]:
        parts, groups = [], {}
        at = 0
        for found in REFERENCE.finditer(shown):
            parts.append(self._text(shown[at : found.start()]))
            reference = found.group()
            if reference in self.literal:
                parts.append(re.escape(reference))
            elif reference in self.stands_for:
                parts.append(re.escape(self.stands_for[reference]))
            elif reference in groups.values():
                name = next(g for g, r in groups.items() if r == reference)
                parts.append(f"(?P={name})")
            else:
                name = f"r{len(groups)}"
                groups[name] = reference
                parts.append(f"(?P<{name}>{reference[:3]}-[0-9A-Z]{{4}}-[0-9A-Z]{{4}})")
            at = found.end()
        parts.append(self._text(shown[at:]))
        return re.compile("".join(parts)), groups

    @staticmethod
    def _text(text: str) -> str:
        return ".*".join(re.escape(piece) for piece in text.split("..."))

    def check(self, command: Command, output: str) -> None:
        printed = [line.rstrip() for line in output.splitlines()]
        at = 0
        for shown in command.shows:
            if shown.strip() == "...":
                continue
            pattern, groups = self.pattern(shown.rstrip())
            for n in range(at, len(printed)):
                matched = pattern.fullmatch(printed[n])
                if matched:
                    break
            else:
                raise AssertionError(
                    f"README.md:{command.line}: `{command.text}` did not print, in order,\n"
                    f"  {shown}\nIt printed:\n{output}"
                )
            for name, reference in groups.items():
                actual = matched.group(name)
                taken = [r for r, a in self.stands_for.items() if a == actual]
                assert not taken, (
                    f"README.md:{command.line}: {reference} and {taken[0]} are shown as "
                    f"different cases, but both are {actual}"
                )
                self.stands_for[reference] = actual
            at = n + 1


def run_blocks(blocks: list[Block], env: dict[str, str], tmp_path: Path) -> int:
    """Run every command of the `run` blocks as written; how many ran."""
    commands = [c for b in blocks if b.marker == "run" for c in b.commands]
    shown = Shown({r for c in commands for r in REFERENCE.findall(c.text)})
    variables: dict[str, str] = {}
    saved = tmp_path / "readme-variables"
    saved.mkdir()
    for command in commands:
        names = ASSIGNMENT.findall(command.text)
        script = "".join(f"{k}={shlex.quote(v)}\n" for k, v in variables.items())
        script += command.text + "\n__rc=$?\n"
        script += "".join(f'printf %s "${n}" > {shlex.quote(str(saved / n))}\n' for n in names)
        script += "exit $__rc\n"
        result = subprocess.run(
            ["bash", "-c", script],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, (
            f"README.md:{command.line}: `{command.text}` exited {result.returncode}:\n"
            f"{result.stdout}"
        )
        for name in names:
            variables[name] = (saved / name).read_text()
        shown.check(command, result.stdout)
    return len(commands)


def test_every_shell_block_in_the_readme_says_whether_it_is_run() -> None:
    blocks = shell_blocks(README.read_text())
    unmarked = [b.line for b in blocks if not b.marker]
    assert not unmarked, (
        f"README.md lines {unmarked}: a ```sh block with no `<!-- readme-test: run -->` or "
        "`<!-- readme-test: not run: WHY -->` on the line before it"
    )
    not_run = [c.text for b in blocks if b.marker != "run" for c in b.commands]
    assert not_run == [
        "make run    # venv + pinned install; Temporal dev server (Web UI http://127.0.0.1:8233), "
        "worker, admin app (http://127.0.0.1:8000)",
        "make test   # venv + pinned install, ruff, and the whole test suite (browser tests need "
        "Chromium: .ci/run installs it)",
    ]
    run = " ".join(c.text for b in blocks if b.marker == "run" for c in b.commands)
    for example in ("starter lodge ", "starter lodge-enquiry ", "starter step ", "starter status "):
        assert example in run, f"no README example of `{example.strip()}` is run"


def test_what_a_command_shows_must_be_what_it_printed() -> None:
    """The checker itself: a line the output lacks, lines out of order, and one case shown as
    two references all fail; `...` and a shown reference match what was printed."""
    command = Command(1, "x", ["CMP-AAAA-AAAA  stage1 / ...", "CMP-AAAA-AAAA done"])
    Shown(set()).check(command, "CMP-7KQ3-XM2P  stage1 / investigating\nCMP-7KQ3-XM2P done\n")
    with pytest.raises(AssertionError, match="did not print"):
        Shown(set()).check(command, "CMP-7KQ3-XM2P  stage1 / investigating\nCMP-0SWJ-HRZ8 done")
    with pytest.raises(AssertionError, match="did not print"):
        Shown(set()).check(command, "CMP-7KQ3-XM2P done\nCMP-7KQ3-XM2P  stage1 / investigating")
    with pytest.raises(AssertionError, match="did not print"):  # whole lines, not a part
        Shown(set()).check(Command(1, "x", ["stage1"]), "CMP-7KQ3-XM2P  stage1 / investigating")
    shown = Shown({"CMP-0000-0000"})
    shown.check(Command(1, "x", ["CMP-AAAA-AAAA"]), "CMP-7KQ3-XM2P")
    with pytest.raises(AssertionError, match="different cases"):
        shown.check(Command(2, "x", ["CMP-BBBB-BBBB"]), "CMP-7KQ3-XM2P")
    with pytest.raises(AssertionError, match="did not print"):  # named by a command: itself
        shown.check(Command(3, "x", ["no case with reference CMP-0000-0000"]), "no case with "
                    "reference CMP-1111-1111")  # fmt: skip


def test_a_comment_line_must_be_under_a_command() -> None:
    with pytest.raises(AssertionError, match="not under a command"):
        shell_blocks("<!-- readme-test: run -->\n```sh\n# prints a reference\nls\n```\n")
    (block,) = shell_blocks(
        "<!-- readme-test: run -->\n```sh\nref=$(echo a \\\n  b)   # note\n# a b\n\nls\n```\n"
    )
    assert [(c.text, c.shows) for c in block.commands] == [
        ("ref=$(echo a \\\n  b)   # note", ["a b"]),
        ("ls", []),
    ]


def test_the_readme_examples_run_as_written(dev_env, stack_env, worker_process, tmp_path):
    """Lodge, take a complaint through stage 1, an enquiry and its reply, the refusals, a
    reference that matches no case, and the reports, all as the README writes them."""
    venv_python = REPO / ".venv" / "bin" / "python"
    assert venv_python.exists(), "the README's commands run .venv/bin/python: run `make venv`"
    ran = run_blocks(shell_blocks(README.read_text()), stack_env, tmp_path)
    assert ran >= 15
