#!/usr/bin/python3
"""Runs the README's redis-cli transcripts against the real daemon and compares the outputs.

Every fenced block with `127.0.0.1:6380>` prompts (or `$ redis-cli -p 6380 …` lines) is run
in one redis-cli session (`--no-raw`, the format redis-cli shows in a terminal) against a fresh
daemon ($ARVEL_BINARY) on a free port, and its output must equal the block's output lines.
In expected output, `…` matches any text within a line, a line that is only `…` matches any
number of lines, a quoted 32-hex-digit lock token matches any such token, and redis-cli's
"(3.00s)" after a blocking command matches any duration. A `#` line just
before a prompt is a comment. Blocks showing two terminals side by side are skipped.
Also checks that the README's command reference (the command tables under "## Commands" and
the list of Redis commands) names every command of the command table (COMMAND LIST), and only
those. Prints "N passed, M failed".
"""

import os
import re
import shlex
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PROMPT = re.compile(r"^127\.0\.0\.1:6380(?:\(TX\))?> ")
SHELL = re.compile(r"^\$ redis-cli -p 6380 (.+)$")
TOKEN = re.compile(r'^"[0-9a-f]{32}"$')
ELAPSED = re.compile(r"^\(\d+\.\d\ds\)$")  # redis-cli's time taken by a blocking command


def blocks(readme):
    """(line number, [lines]) of each fenced block that holds a transcript."""
    lines = readme.split("\n")
    start = None
    for number, line in enumerate(lines, 1):
        if line.startswith("```"):
            if start is None:
                start = number
                continue
            body = lines[start:number - 1]
            start = None
            if any("terminal 1" in l for l in body):
                continue
            if any(PROMPT.match(l) or SHELL.match(l) for l in body):
                yield number - len(body) - 1, body


def parse(body):
    """The commands to send and the expected output lines."""
    commands, expected = [], []
    for i, line in enumerate(body):
        if line.startswith("#"):
            rest = [l for l in body[i + 1:] if not l.startswith("#")]
            if not rest or PROMPT.match(rest[0]) or SHELL.match(rest[0]):
                continue  # a comment
        prompt = PROMPT.match(line)
        shell = SHELL.match(line)
        if prompt:
            commands.append(line[prompt.end():])
        elif shell:
            commands.append(" ".join(shlex.quote(a) for a in shlex.split(shell.group(1))))
        elif line.startswith("$ "):
            continue  # `$ redis-cli -p 6380` opening the session
        else:
            expected.append(line)
    return commands, expected


def matches(expected, actual):
    if not expected:
        return not actual
    head = expected[0]
    if head == "…":
        return any(matches(expected[1:], actual[i:]) for i in range(len(actual) + 1))
    if not actual:
        return False
    line = actual[0]
    if TOKEN.match(head):
        ok = bool(TOKEN.match(line))
    elif ELAPSED.match(head):
        ok = bool(ELAPSED.match(line))
    else:
        pattern = "".join(".*" if part == "…" else re.escape(part)
                          for part in re.split("(…)", head))
        ok = re.fullmatch(pattern, line) is not None
    return ok and matches(expected[1:], actual[1:])


class Daemon:
    def __init__(self):
        self.dir = tempfile.TemporaryDirectory(prefix="arvel-readme-")
        binary = os.environ.get("ARVEL_BINARY", os.path.join(REPO, "build", "arvel-cached"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("CACHE_")}
        env["CACHE_PORT"] = "1"  # the implicit redis store points at a closed port
        self.proc = subprocess.Popen([os.path.abspath(binary), "--port", "0"], cwd=self.dir.name,
                                     env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.port = None
        for line in self.proc.stderr:
            if "listening on " in line:
                self.port = int(line.split("listening on ", 1)[1].split()[0].rsplit(":", 1)[1])
                break
        if self.port is None:
            raise RuntimeError("arvel-cached did not start")
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.dir.cleanup()


def documented_commands(readme):
    """Command names the README's reference documents: the first word of the first column of
    each command table under "## Commands", and the list of Redis commands."""
    section = readme[readme.index("## Commands\n"):readme.index("## Configuration\n")]
    names = set()
    for row in re.findall(r"^\| (`[^|]*(?:\\\|[^|]*)*)\|", section, re.M):
        names.update(span.split()[0].upper() for span in re.findall(r"`([^`]+)`", row))
    listing = re.search(r"^`(GET SET .*?)`", section, re.M | re.S).group(1)
    names.update(re.sub(r"\([^)]*\)", "", listing).split())
    return names


def check_command_drift(readme):
    """Problems, if the README's reference and the command table differ."""
    daemon = Daemon()
    try:
        listing = subprocess.run(["redis-cli", "-p", str(daemon.port), "COMMAND", "LIST"],
                                 capture_output=True, text=True, timeout=10).stdout
    finally:
        daemon.stop()
    table = {name.upper() for name in listing.split() if "|" not in name}
    documented = documented_commands(readme)
    problems = [f"{name} is in the command table but not in the README's reference"
                for name in sorted(table - documented)]
    problems += [f"the README documents {name}, which is not a command"
                 for name in sorted(documented - table)]
    return problems


def main():
    with open(os.path.join(REPO, "README.md")) as f:
        readme = f.read()
    passed = failed = 0
    problems = check_command_drift(readme)
    if problems:
        failed += 1
        print("FAIL every command documented, and only commands\n  " + "\n  ".join(problems))
    else:
        passed += 1
        print("PASS every command documented, and only commands")
    for line_number, body in blocks(readme):
        commands, expected = parse(body)
        daemon = Daemon()
        try:
            run = subprocess.run(["redis-cli", "--no-raw", "-h", "127.0.0.1", "-p",
                                  str(daemon.port)], input="\n".join(commands) + "\n",
                                 capture_output=True, text=True, timeout=30)
        finally:
            daemon.stop()
        actual = (run.stdout + run.stderr).rstrip("\n").split("\n")
        name = f"README.md:{line_number}: {commands[0]}"
        if matches(expected, actual):
            passed += 1
            print(f"PASS {name}")
        else:
            failed += 1
            print(f"FAIL {name}\n  expected:\n    " + "\n    ".join(expected) +
                  "\n  got:\n    " + "\n    ".join(actual))
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
